package crdmirror

import (
	"context"
	gosync "sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/sync"
)

// syncers are the running per-kind syncers, by claim CRD name.
type syncers struct {
	mu      gosync.Mutex
	running map[string]*sync.Syncer
}

func newSyncers() *syncers { return &syncers{running: map[string]*sync.Syncer{}} }

// ensure runs a syncer for gvk under name, restarting it when the version
// changed or it stopped on its own. onExit is called if it stops by itself.
func (s *syncers) ensure(ctx context.Context, name string, gvk schema.GroupVersionKind, cfg sync.Config, cl sync.Clusters, onExit func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.running[name]; ok {
		select {
		case <-cur.Done():
		default:
			if cur.GVK == gvk {
				return nil
			}
			cur.Stop()
		}
	}
	sy, err := sync.Start(ctx, cfg, cl, gvk)
	if err != nil {
		return err
	}
	s.running[name] = sy
	log.FromContext(ctx).Info("Started claim syncer", "gvk", gvk.String())
	go func() {
		select {
		case <-ctx.Done():
		case <-sy.Done():
			onExit()
		}
	}()
	return nil
}

// stop ends the syncer of a kind, if one runs.
func (s *syncers) stop(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.running[name]; ok {
		cur.Stop()
		delete(s.running, name)
	}
}
