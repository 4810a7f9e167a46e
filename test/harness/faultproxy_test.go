package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// startEcho runs a line echo server until the test ends.
func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func startProxy(t *testing.T, upstream string) *FaultProxy {
	t.Helper()
	p, err := StartFaultProxy(upstream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// roundTrip writes a line and reads the echo, giving up after timeout.
func roundTrip(c net.Conn, line string, timeout time.Duration) (string, error) {
	_ = c.SetDeadline(time.Now().Add(timeout))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSuffix(got, "\n"), err
}

func mustEcho(t *testing.T, c net.Conn, line string) {
	t.Helper()
	got, err := roundTrip(c, line, 5*time.Second)
	if err != nil || got != line {
		t.Fatalf("echo of %q: got %q, %v", line, got, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestFaultProxyForwards(t *testing.T) {
	p := startProxy(t, startEcho(t))
	c := dial(t, p.Addr())
	mustEcho(t, c, "hello")
	mustEcho(t, c, "again")
	if p.Accepted() != 1 {
		t.Errorf("Accepted() = %d, want 1", p.Accepted())
	}
}

func TestFaultProxyCut(t *testing.T) {
	p := startProxy(t, startEcho(t))
	open := dial(t, p.Addr())
	mustEcho(t, open, "before")

	p.Cut()
	if _, err := roundTrip(open, "during", 5*time.Second); err == nil || isTimeout(err) {
		t.Errorf("an open connection survived the cut: %v", err)
	}
	// The reset may reach the dialer before or after connect returns.
	if fresh, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second); err == nil {
		defer func() { _ = fresh.Close() }()
		if _, err := roundTrip(fresh, "during", 5*time.Second); err == nil || isTimeout(err) {
			t.Errorf("a new connection was not reset while cut: %v", err)
		}
	}
	if err := Poll(context.Background(), 5*time.Second, func() error {
		if p.Resets() != 1 {
			return fmt.Errorf("Resets() = %d, want 1", p.Resets())
		}
		return nil
	}); err != nil {
		t.Error(err)
	}

	p.Restore()
	mustEcho(t, dial(t, p.Addr()), "after")
}

func TestFaultProxyBlackhole(t *testing.T) {
	p := startProxy(t, startEcho(t))
	open := dial(t, p.Addr())
	mustEcho(t, open, "before")

	p.Blackhole()
	// The short deadline is the behaviour under test: nothing comes back,
	// and nothing is closed, for as long as the blackhole lasts.
	if _, err := io.WriteString(open, "held\n"); err != nil {
		t.Fatal(err)
	}
	_ = open.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	r := bufio.NewReader(open)
	if _, err := r.ReadString('\n'); !isTimeout(err) {
		t.Fatalf("read through a blackhole: %v, want a timeout", err)
	}
	fresh := dial(t, p.Addr())
	if _, err := roundTrip(fresh, "new", 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("new connection through a blackhole: %v, want a timeout", err)
	}

	p.Restore()
	_ = open.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, err := r.ReadString('\n'); err != nil || got != "held\n" {
		t.Fatalf("held data after restore: %q, %v", got, err)
	}
	mustEcho(t, dial(t, p.Addr()), "after")
}

func TestFaultProxySlow(t *testing.T) {
	p := startProxy(t, startEcho(t))
	c := dial(t, p.Addr())
	const latency = 150 * time.Millisecond
	p.Slow(latency)
	start := time.Now()
	mustEcho(t, c, "slow")
	// A lower bound only: each direction waits at least the latency.
	if took := time.Since(start); took < 2*latency {
		t.Errorf("round trip took %s, want at least %s", took, 2*latency)
	}
	p.Restore()
	mustEcho(t, c, "fast")
}

func TestFaultProxyCloseEndsConnections(t *testing.T) {
	p := startProxy(t, startEcho(t))
	c := dial(t, p.Addr())
	mustEcho(t, c, "hello")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := roundTrip(c, "after close", 5*time.Second); err == nil || isTimeout(err) {
		t.Errorf("connection survived Close: %v", err)
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Errorf("proxy still accepts after Close")
	}
}

// TLS passes through: a client that trusts the upstream's certificate (which
// names 127.0.0.1) talks to it through the proxy.
func TestFaultProxyPassesTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	p := startProxy(t, strings.TrimPrefix(srv.URL, "https://"))
	resp, err := srv.Client().Get("https://" + p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if b, _ := io.ReadAll(resp.Body); string(b) != "ok" {
		t.Errorf("body %q, want ok", b)
	}
}

func TestWriteProxiedKubeconfig(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:6443", CertificateAuthorityData: []byte("ca")}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: "t"}
	cfg.Contexts["ctx"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	cfg.CurrentContext = "ctx"
	if err := clientcmd.WriteToFile(*cfg, src); err != nil {
		t.Fatal(err)
	}
	if err := WriteProxiedKubeconfig(src, dst, "127.0.0.1:4242"); err != nil {
		t.Fatal(err)
	}
	got, err := clientcmd.LoadFromFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	c := got.Clusters["envtest"]
	if c.Server != "https://127.0.0.1:4242" || string(c.CertificateAuthorityData) != "ca" || got.AuthInfos["admin"].Token != "t" {
		t.Errorf("proxied kubeconfig: server %q, CA %q, token %q", c.Server, c.CertificateAuthorityData, got.AuthInfos["admin"].Token)
	}
	if fi, err := os.Stat(dst); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode of %s: %v, %v", dst, fi.Mode(), err)
	}
}
