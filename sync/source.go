package sync

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// informerRetry is how often a source retries getting its informer (a kind
// the cache's REST mapper does not know yet, a cache not started).
const informerRetry = 2 * time.Second

// kindSource feeds a syncer's queue from the informer of one kind, like
// source.Kind, and also removes its event handler when its context ends.
// Informers are shared (every syncer watches Secrets): a stopped syncer must
// not leave a handler behind on them.
type kindSource struct {
	cache   cache.Cache
	obj     client.Object
	handler handler.EventHandler
	synced  chan error
}

var _ source.SyncingSource = &kindSource{}

func newKindSource(c cache.Cache, obj client.Object, h handler.EventHandler) *kindSource {
	return &kindSource{cache: c, obj: obj, handler: h, synced: make(chan error, 1)}
}

// Start registers the handler once the informer is there, in the background,
// and removes it when ctx ends.
func (s *kindSource) Start(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	go func() {
		inf, err := s.informer(ctx)
		if err != nil {
			s.synced <- err
			return
		}
		reg, err := inf.AddEventHandler(s.funcs(ctx, q))
		if err != nil {
			s.synced <- fmt.Errorf("add event handler for %T: %w", s.obj, err)
			return
		}
		defer func() { _ = inf.RemoveEventHandler(reg) }()
		if !toolscache.WaitForCacheSync(ctx.Done(), reg.HasSynced) {
			s.synced <- ctx.Err()
			return
		}
		close(s.synced)
		<-ctx.Done()
	}()
	return nil
}

// informer gets the kind's informer, retrying until ctx ends.
func (s *kindSource) informer(ctx context.Context) (cache.Informer, error) {
	var inf cache.Informer
	var last error
	err := wait.PollUntilContextCancel(ctx, informerRetry, true, func(ctx context.Context) (bool, error) {
		inf, last = s.cache.GetInformer(ctx, s.obj, cache.BlockUntilSynced(false))
		if last != nil {
			log.FromContext(ctx).V(1).Info("Waiting for informer", "type", fmt.Sprintf("%T", s.obj), "error", last.Error())
		}
		return last == nil, nil
	})
	if err != nil && last != nil {
		return nil, fmt.Errorf("get informer for %s: %w", s.obj.GetObjectKind().GroupVersionKind(), last)
	}
	return inf, err
}

// WaitForSync returns once the handler has seen the informer's initial list.
func (s *kindSource) WaitForSync(ctx context.Context) error {
	select {
	case err := <-s.synced:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *kindSource) funcs(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) toolscache.ResourceEventHandlerFuncs {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) {
			if obj, ok := o.(client.Object); ok {
				s.handler.Create(ctx, event.CreateEvent{Object: obj}, q)
			}
		},
		UpdateFunc: func(old, cur any) {
			o, okOld := old.(client.Object)
			n, okNew := cur.(client.Object)
			if okOld && okNew {
				s.handler.Update(ctx, event.UpdateEvent{ObjectOld: o, ObjectNew: n}, q)
			}
		},
		DeleteFunc: func(o any) {
			ev := event.DeleteEvent{}
			if tomb, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
				o, ev.DeleteStateUnknown = tomb.Obj, true
			}
			if obj, ok := o.(client.Object); ok {
				ev.Object = obj
				s.handler.Delete(ctx, ev, q)
			}
		},
	}
}
