package crdmirror

import (
	"context"
	"errors"
	gosync "sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/sync"
)

// syncers are the running per-kind syncers, by claim CRD name. It is a
// manager Runnable: the syncers run on its context, which lives as long as
// the manager (and leadership), not on the context of the reconcile that
// started them; when it ends, every syncer is stopped.
type syncers struct {
	mu      gosync.Mutex
	running map[string]running
	base    context.Context
	started chan struct{}
}

func newSyncers() *syncers {
	return &syncers{running: map[string]running{}, started: make(chan struct{})}
}

// running is a syncer and the CRD it was started for: a CRD deleted and
// created again (same name, new uid) gets a new syncer, whose start imports
// the claims orphaned when the old one went.
type running struct {
	*sync.Syncer
	crdUID types.UID
}

// NeedLeaderElection: syncers run on the leader only, like the mirror.
func (s *syncers) NeedLeaderElection() bool { return true }

// Start holds the syncers' context until the manager stops, then stops them.
func (s *syncers) Start(ctx context.Context) error {
	s.mu.Lock()
	s.base = ctx
	close(s.started)
	s.mu.Unlock()
	<-ctx.Done()
	s.stopAll()
	return nil
}

// errNotStarted: a reconcile came before the manager started the syncers.
var errNotStarted = errors.New("claim syncers are not started yet")

// ensure runs a syncer for gvk under name (the CRD's), restarting it when
// the version or the CRD changed or it stopped on its own. onExit is called if it stops by itself.
// ctx is only waited on; the syncer runs on the syncers' own context.
// Calls for one CRD name come from its reconciles, which never run
// concurrently; the lock is not held while a syncer stops, so a slow stop
// holds up no other kind.
func (s *syncers) ensure(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition, gvk schema.GroupVersionKind, kind sync.Kind, cfg sync.Config, cl sync.Clusters, onExit func()) error {
	select {
	case <-s.started:
	case <-ctx.Done():
		return errNotStarted
	}
	if s.current(crd.Name, gvk, crd.UID) {
		return nil
	}
	s.stop(crd.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.base.Err() != nil {
		return errNotStarted // stopping: nothing would stop a syncer started now
	}
	sy, err := sync.Start(s.base, cfg, cl, gvk, crd.Name, kind)
	if err != nil {
		return err
	}
	s.running[crd.Name] = running{Syncer: sy, crdUID: crd.UID}
	log.FromContext(ctx).Info("Started syncer", "gvk", gvk.String(), "kind", kind.String())
	go s.watchExit(crd.Name, sy, onExit)
	return nil
}

// current says whether the syncer of name runs, for gvk and the CRD of that uid.
func (s *syncers) current(name string, gvk schema.GroupVersionKind, uid types.UID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.running[name]
	if !ok {
		return false
	}
	select {
	case <-cur.Done():
		return false
	default:
		return cur.GVK == gvk && cur.crdUID == uid
	}
}

// watchExit calls onExit when sy stops by itself: not when it was stopped
// (then it is no longer the running syncer of its name), and not when the
// syncers stop.
func (s *syncers) watchExit(name string, sy *sync.Syncer, onExit func()) {
	select {
	case <-s.base.Done():
		return
	case <-sy.Done():
	}
	s.mu.Lock()
	cur, ok := s.running[name]
	s.mu.Unlock()
	if ok && cur.Syncer == sy && s.base.Err() == nil {
		onExit()
	}
}

// stop ends the syncer of a kind, if one runs, and waits until it released
// everything it started. It is no longer the running syncer of its name
// before it stops, so its exit calls no onExit.
func (s *syncers) stop(name string) {
	s.mu.Lock()
	cur, ok := s.running[name]
	delete(s.running, name)
	s.mu.Unlock()
	if ok {
		cur.Stop()
	}
}

// stopAll stops every syncer, all at once, and waits for them.
func (s *syncers) stopAll() {
	s.mu.Lock()
	all := s.running
	s.running = map[string]running{}
	s.mu.Unlock()
	var wg gosync.WaitGroup
	for _, cur := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cur.Stop()
		}()
	}
	wg.Wait()
}
