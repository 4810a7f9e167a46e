package main

import (
	"context"
	"fmt"
	"slices"
	gosync "sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

// tracker timestamps what the bench observes through watches (informers):
// a waiter fires when one object first matches, a counter when n objects
// have. Both the connector and the baseline are observed the same way.
type tracker struct {
	mu       gosync.Mutex
	waiters  map[string][]*waiter
	counters []*counter
	stops    []chan struct{}
}

type waiter struct {
	match func(*unstructured.Unstructured) bool // nil object: deleted
	done  chan time.Time
}

// counter counts distinct objects of one resource that matched.
type counter struct {
	resource string
	match    func(*unstructured.Unstructured) bool
	seen     map[string]time.Time
}

func newTracker() *tracker { return &tracker{waiters: map[string][]*waiter{}} }

func objKey(resource, ns, name string) string { return resource + "/" + ns + "/" + name }

// watch starts informers for the resources in namespace ns ("" for all) and
// waits for their first list.
func (t *tracker) watch(ctx context.Context, dyn dynamic.Interface, ns string, gvrs ...schema.GroupVersionResource) error {
	stop := make(chan struct{})
	t.mu.Lock()
	t.stops = append(t.stops, stop)
	t.mu.Unlock()
	f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, ns, nil)
	for _, gvr := range gvrs {
		res := gvr.Resource
		inf := f.ForResource(gvr).Informer()
		_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { t.observe(res, o, false) },
			UpdateFunc: func(_, o any) { t.observe(res, o, false) },
			DeleteFunc: func(o any) { t.observe(res, o, true) },
		})
		if err != nil {
			return err
		}
	}
	f.Start(stop)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for gvr, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("watch %s: cache did not sync", gvr)
		}
	}
	return nil
}

func (t *tracker) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.stops {
		close(s)
	}
	t.stops = nil
}

func (t *tracker) observe(resource string, o any, deleted bool) {
	now := time.Now()
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return
	}
	key := objKey(resource, u.GetNamespace(), u.GetName())
	var obj *unstructured.Unstructured
	if !deleted {
		obj = u
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ws := t.waiters[key]
	kept := ws[:0]
	for _, w := range ws {
		if w.match(obj) {
			w.done <- now
			continue
		}
		kept = append(kept, w)
	}
	if len(kept) == 0 {
		delete(t.waiters, key)
	} else {
		t.waiters[key] = kept
	}
	for _, c := range t.counters {
		if c.resource != resource || obj == nil || !c.match(obj) {
			continue
		}
		if _, dup := c.seen[key]; dup {
			continue
		}
		c.seen[key] = now
	}
}

// expect returns a channel that receives the time at which the object first
// matches after this call. Register before acting.
func (t *tracker) expect(resource, ns, name string, match func(*unstructured.Unstructured) bool) <-chan time.Time {
	w := &waiter{match: match, done: make(chan time.Time, 1)}
	key := objKey(resource, ns, name)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.waiters[key] = append(t.waiters[key], w)
	return w.done
}

// count returns a counter of distinct objects of the resources that matched,
// which waits for n of them. Objects that already match when it is created count only
// when they change: create counters before acting.
func (t *tracker) count(resources []string, n int, match func(*unstructured.Unstructured) bool) *multiCounter {
	mc := &multiCounter{t: t, target: n}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range resources {
		c := &counter{resource: r, match: match, seen: map[string]time.Time{}}
		mc.parts = append(mc.parts, c)
		t.counters = append(t.counters, c)
	}
	return mc
}

// multiCounter counts over several resources.
type multiCounter struct {
	t      *tracker
	parts  []*counter
	target int
}

// times returns every first-match time, unsorted.
func (m *multiCounter) times() []time.Time {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	var out []time.Time
	for _, c := range m.parts {
		for _, ts := range c.seen {
			out = append(out, ts)
		}
	}
	return out
}

// matched is how many objects have matched so far.
func (m *multiCounter) matched() int {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	n := 0
	for _, c := range m.parts {
		n += len(c.seen)
	}
	return n
}

// wait polls until target objects matched, and returns when the last did.
func (m *multiCounter) wait(ctx context.Context, timeout time.Duration, alive func() error) (time.Time, error) {
	deadline := time.After(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if n := m.matched(); n >= m.target {
			return slices.MaxFunc(m.times(), time.Time.Compare), nil
		}
		if alive != nil {
			if err := alive(); err != nil {
				return time.Time{}, err
			}
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-deadline:
			return time.Time{}, fmt.Errorf("only %d of %d objects after %s", m.matched(), m.target, timeout)
		case <-tick.C:
		}
	}
}

// await waits for a waiter's channel.
func await(ch <-chan time.Time, timeout time.Duration, what string) (time.Time, error) {
	select {
	case ts := <-ch:
		return ts, nil
	case <-time.After(timeout):
		return time.Time{}, fmt.Errorf("%s: not observed within %s", what, timeout)
	}
}
