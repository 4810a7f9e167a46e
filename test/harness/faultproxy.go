package harness

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	gosync "sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// FaultMode is what a FaultProxy does with the traffic it carries.
type FaultMode int

const (
	// FaultNone forwards everything (after the configured latency).
	FaultNone FaultMode = iota
	// FaultCut closes every open connection and resets every new one at
	// once: the peer sees a dead server right away.
	FaultCut
	// FaultBlackhole accepts connections and holds all traffic, in both
	// directions, without closing anything: the peer sees a server that
	// went silent, and finds out only through its own timeouts. Traffic held
	// is delivered on Restore, as TCP does after a short partition.
	FaultBlackhole
)

func (m FaultMode) String() string {
	switch m {
	case FaultCut:
		return "cut"
	case FaultBlackhole:
		return "blackhole"
	}
	return "none"
}

// FaultProxy is a TCP proxy on a loopback port in front of one upstream
// address, for tests that cut, blackhole or slow down the way to a server
// (the control plane's API server) while both sides keep running. TLS passes
// through untouched: clients still verify the upstream's certificate.
type FaultProxy struct {
	ln       net.Listener
	upstream string

	mu      gosync.Mutex
	mode    FaultMode
	latency time.Duration
	changed chan struct{} // closed and replaced on every change
	conns   map[*proxyConn]struct{}
	closed  bool

	accepted atomic.Int64
	reset    atomic.Int64
	wg       gosync.WaitGroup
}

// StartFaultProxy listens on a free loopback port and forwards every
// connection to upstream (host:port).
func StartFaultProxy(upstream string) (*FaultProxy, error) {
	return StartFaultProxyOn("127.0.0.1", upstream)
}

// StartFaultProxyOn is StartFaultProxy listening on a free port of host.
func StartFaultProxyOn(host, upstream string) (*FaultProxy, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("start fault proxy: %w", err)
	}
	p := &FaultProxy{ln: ln, upstream: upstream, changed: make(chan struct{}), conns: map[*proxyConn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *FaultProxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every open connection and resets every new one until Restore.
func (p *FaultProxy) Cut() {
	p.set(func() { p.mode = FaultCut })
	p.mu.Lock()
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// Blackhole holds all traffic on open and new connections until Restore.
func (p *FaultProxy) Blackhole() { p.set(func() { p.mode = FaultBlackhole }) }

// Slow delays every chunk of data, in each direction, by latency (0 for
// none). It applies to data read from now on and combines with the mode.
func (p *FaultProxy) Slow(latency time.Duration) { p.set(func() { p.latency = latency }) }

// Restore forwards traffic again without delay: connections held by
// Blackhole resume.
func (p *FaultProxy) Restore() {
	p.set(func() { p.mode, p.latency = FaultNone, 0 })
}

// Mode returns the current mode.
func (p *FaultProxy) Mode() FaultMode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// Accepted counts the connections the proxy has accepted so far, including
// the ones it reset.
func (p *FaultProxy) Accepted() int64 { return p.accepted.Load() }

// Resets counts the connections reset on arrival while cut.
func (p *FaultProxy) Resets() int64 { return p.reset.Load() }

// Close stops the proxy and closes every connection.
func (p *FaultProxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	err := p.ln.Close()
	p.Cut()
	p.wg.Wait()
	return err
}

func (p *FaultProxy) set(change func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	change()
	close(p.changed)
	p.changed = make(chan struct{})
}

// state returns the mode and latency with a channel closed on the next change.
func (p *FaultProxy) state() (FaultMode, time.Duration, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode, p.latency, p.changed
}

func (p *FaultProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.accepted.Add(1)
		if mode, _, _ := p.state(); mode == FaultCut {
			p.reset.Add(1)
			resetConn(c)
			continue
		}
		p.wg.Add(1)
		go p.handle(c)
	}
}

// resetConn closes c with a TCP reset rather than an orderly close.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// proxyConn is one client connection and its upstream connection.
type proxyConn struct {
	client, upstream net.Conn
	once             gosync.Once
	done             chan struct{}
}

func (c *proxyConn) close() {
	c.once.Do(func() {
		close(c.done)
		resetConn(c.client)
		if c.upstream != nil {
			_ = c.upstream.Close()
		}
	})
}

func (p *FaultProxy) handle(client net.Conn) {
	defer p.wg.Done()
	up, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
	if err != nil {
		resetConn(client)
		return
	}
	c := &proxyConn{client: client, upstream: up, done: make(chan struct{})}
	p.mu.Lock()
	if p.closed || p.mode == FaultCut {
		p.mu.Unlock()
		c.close()
		return
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	var both gosync.WaitGroup
	both.Add(2)
	go func() { defer both.Done(); p.pump(c, up, client) }()
	go func() { defer both.Done(); p.pump(c, client, up) }()
	both.Wait()
	c.close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// chunk is data read from one side, stamped with when it may be written.
type chunk struct {
	data []byte
	due  time.Time
}

// pump copies src to dst: a reader stamps each chunk with its due time (now
// plus the latency), a writer holds it until then and while blackholed. The
// two halves keep latency from limiting throughput. An orderly end of src is
// passed on as a half-close, so the other direction drains; anything else
// closes the whole connection.
func (p *FaultProxy) pump(c *proxyConn, dst, src net.Conn) {
	chunks := make(chan chunk, 64)
	var readErr error
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				_, latency, _ := p.state()
				select {
				case chunks <- chunk{data: buf[:n], due: time.Now().Add(latency)}:
				case <-c.done:
					return
				}
			}
			if err != nil {
				readErr = err
				return
			}
		}
	}()
	for ch := range chunks {
		if !p.hold(c, ch.due) {
			c.close()
			return
		}
		if _, err := dst.Write(ch.data); err != nil {
			c.close()
			return
		}
	}
	if !errors.Is(readErr, io.EOF) {
		c.close()
		return
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// hold waits until due and until the proxy is not blackholed; false means the
// connection was closed meanwhile.
func (p *FaultProxy) hold(c *proxyConn, due time.Time) bool {
	for {
		mode, _, changed := p.state()
		if mode == FaultCut {
			return false
		}
		var timer <-chan time.Time
		if mode == FaultNone {
			wait := time.Until(due)
			if wait <= 0 {
				return true
			}
			timer = time.After(wait)
		}
		select {
		case <-c.done:
			return false
		case <-changed:
		case <-timer:
			return true
		}
	}
}

// WriteProxiedKubeconfig copies the kubeconfig at src to dst with the server
// of every cluster entry pointed at proxyAddr (host:port). The host stays an
// IP literal of loopback, which the test API servers' serving certificates
// name, so TLS verification still passes through the proxy.
func WriteProxiedKubeconfig(src, dst, proxyAddr string) error {
	cfg, err := clientcmd.LoadFromFile(src)
	if err != nil {
		return fmt.Errorf("read kubeconfig %s: %w", src, err)
	}
	if len(cfg.Clusters) == 0 {
		return fmt.Errorf("kubeconfig %s names no cluster", src)
	}
	for name, c := range cfg.Clusters {
		u, err := url.Parse(c.Server)
		if err != nil {
			return fmt.Errorf("kubeconfig %s, cluster %s: server %q: %w", src, name, c.Server, err)
		}
		u.Host = proxyAddr
		c.Server = u.String()
	}
	if err := clientcmd.WriteToFile(*cfg, dst); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", dst, err)
	}
	return os.Chmod(dst, 0o600)
}
