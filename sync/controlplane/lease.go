package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	gosync "sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// The cluster-id Lease's timing. A holder renews every leaseRetry: 12
// renewals (writes) a minute per app cluster. A connector killed without
// releasing it holds it for leaseDuration, as long as the app cluster's own
// leader election (15 s) holds its Lease, so a replica that takes over after
// a kill -9 finds both free at about the same time.
const (
	leaseDuration      = 15 * time.Second
	leaseRenewDeadline = 10 * time.Second
	leaseRetry         = 5 * time.Second
)

// LeaseName is the Lease in the control-plane namespace that the live
// connector of a cluster id holds: named per cluster id, so that another
// cluster taking the namespace over deliberately is not blocked by it.
func LeaseName(clusterID string) string {
	sum := sha256.Sum256([]byte(clusterID))
	return "mcp-connector-" + hex.EncodeToString(sum[:])[:10]
}

// NewLeaseIdentity is a connector process's identity in the cluster-id
// Lease: the host name and a random uuid, so that a cloned or restored app
// cluster, whose pods carry the same names, never shares it.
func NewLeaseIdentity() string {
	host, _ := os.Hostname()
	return host + "_" + string(uuid.NewUUID())
}

// ClusterLease runs client-go's leader election on the cluster-id Lease in
// the control-plane namespace while the Monitor asks for it. It is started
// only while the holder record says this cluster holds the namespace, so it
// creates nothing in a namespace that is not ours.
type ClusterLease struct {
	// Config is the control plane's client configuration.
	Config    *rest.Config
	Namespace string
	Name      string
	Identity  string

	holding atomic.Bool
	changed chan struct{}
	lock    *countingLock

	mu      gosync.Mutex
	elector *leaderelection.LeaderElector
	cancel  context.CancelFunc
	done    chan struct{}
}

// leaseView is what the gate needs to know of the Lease.
type leaseView struct {
	Holding bool
	// Holder is the identity last seen holding it ("" before the first read).
	Holder string
	// Err is the error of the last request, nil if it succeeded.
	Err error
}

func (l *ClusterLease) init() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed == nil {
		l.changed = make(chan struct{}, 1)
	}
}

// Changed receives a value when this process starts or stops holding the
// Lease, or sees a new holder.
func (l *ClusterLease) Changed() <-chan struct{} {
	l.init()
	return l.changed
}

func (l *ClusterLease) notify() {
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// Ensure starts the election if it is not running. It runs on ctx (the
// Monitor's) until Stop or the end of ctx; a lost Lease is contended for again.
func (l *ClusterLease) Ensure(ctx context.Context) error {
	l.init()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done != nil {
		select {
		case <-l.done:
		default:
			return nil // running, or still releasing after Stop
		}
	}
	if l.lock == nil {
		c, err := coordinationv1client.NewForConfig(l.clientConfig())
		if err != nil {
			return err
		}
		l.lock = &countingLock{Interface: &resourcelock.LeaseLock{
			LeaseMeta: metav1.ObjectMeta{Namespace: l.Namespace, Name: l.Name}, Client: c,
			LockConfig: resourcelock.ResourceLockConfig{Identity: l.Identity},
		}}
	}
	// A new election starts with no error: the last one may be the failed
	// release of an election stopped while the control plane was away, and
	// the Monitor would take it for this election's first answer.
	l.lock.setErr(nil)
	ctx, cancel := context.WithCancel(ctx)
	l.cancel, l.done = cancel, make(chan struct{})
	go l.run(ctx, l.done)
	return nil
}

// clientConfig is the control plane's configuration with a rate limiter of
// its own (renewals must not queue behind claim writes) and a request
// timeout as long as the renew deadline. client-go's own lock constructor
// gives a request half the deadline, so that a lost request leaves time for
// another; but a renewal that times out falls back to a GET and a PUT in what
// is left, so a control plane answering in 5-10 s (one busy with the
// connector's own initial sync) lost the Lease on every renewal. A request
// may use the whole deadline instead: the renewal then succeeds whenever the
// control plane answers within it, which is what the probe asks too
// (probeTimeoutReachable).
func (l *ClusterLease) clientConfig() *rest.Config {
	c := rest.CopyConfig(l.Config)
	c.RateLimiter = nil
	c.QPS, c.Burst = 5, 10
	c.Timeout = leaseRenewDeadline
	return c
}

func (l *ClusterLease) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: l.lock, Name: l.Name, ReleaseOnCancel: true,
			LeaseDuration: leaseDuration, RenewDeadline: leaseRenewDeadline, RetryPeriod: leaseRetry,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(context.Context) {
					cpLeaseLost.WithLabelValues() // exported (0) from the first time it is held
					l.holding.Store(true)
					l.notify()
				},
				OnStoppedLeading: func() {
					if l.holding.Swap(false) && ctx.Err() == nil {
						cpLeaseLost.WithLabelValues().Inc() // not released: a renewal failed
					}
					l.notify()
				},
				OnNewLeader: func(string) { l.notify() },
			},
		})
		if err != nil {
			l.lock.setErr(err)
			return
		}
		l.mu.Lock()
		l.elector = le
		l.mu.Unlock()
		le.Run(ctx)
	}
}

// Stop ends the election without waiting; a held Lease is released.
func (l *ClusterLease) Stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cancel != nil {
		l.cancel()
	}
}

// Wait waits until a stopped election has ended (and released the Lease).
func (l *ClusterLease) Wait() {
	l.mu.Lock()
	done := l.done
	l.mu.Unlock()
	if done != nil {
		<-done
	}
}

func (l *ClusterLease) view() leaseView {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := leaseView{Holding: l.holding.Load()}
	if l.elector != nil {
		v.Holder = l.elector.GetLeader()
	}
	if l.lock != nil {
		v.Err = l.lock.err()
	}
	return v
}

// countingLock counts the Lease's requests (so that "writes at rest" can
// leave them out) and keeps the error of the last one (so that the gate can
// say why the Lease cannot be had).
type countingLock struct {
	resourcelock.Interface
	mu      gosync.Mutex
	lastErr error
}

func (c *countingLock) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	r, raw, err := c.Interface.Get(ctx)
	c.observe("get", err)
	return r, raw, err
}

func (c *countingLock) Create(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	err := c.Interface.Create(ctx, r)
	c.observe("create", err)
	return err
}

func (c *countingLock) Update(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	err := c.Interface.Update(ctx, r)
	c.observe("update", err)
	return err
}

func (c *countingLock) observe(verb string, err error) {
	cpLeaseRequests.WithLabelValues(verb).Inc()
	if verb == "get" && apierrors.IsNotFound(err) {
		err = nil // no Lease yet: the elector creates it next
	}
	c.setErr(err)
}

func (c *countingLock) setErr(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastErr = err
}

func (c *countingLock) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}
