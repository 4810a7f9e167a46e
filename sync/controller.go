package sync

import (
	"context"
	"fmt"
	"strings"
	gosync "sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/sync/controlplane"
)

// Syncer keeps the claims of one kind in step. Start it when the kind's CRD
// exists on both sides; Stop it when the kind goes away. What it starts, it
// stops: its workers, its event handlers, its gate subscription and the
// informers of its kind in both caches.
type Syncer struct {
	GVK    schema.GroupVersionKind
	cl     Clusters
	cancel context.CancelFunc
	done   chan struct{}
	once   gosync.Once
}

// Start builds the per-kind controller and runs it until Stop or ctx ends.
// crd names the local CRD of the kind: claims deleted because it is going
// away are orphaned in the control plane, never deleted there.
// kind says whether the objects are claims or namespaced XRs (kind.go).
// ctx must be long-lived (the syncer runs on it, not on the context of a
// reconcile). The caches of both clusters must already be running.
func Start(ctx context.Context, cfg Config, cl Clusters, gvk schema.GroupVersionKind, crd string, kind Kind) (*Syncer, error) {
	r := newReconciler(cfg, cl, gvk)
	r.crd, r.kind = crd, kind
	name := "claim-" + strings.ToLower(gvk.Kind) + "." + gvk.Group
	skip := true
	c, err := controller.NewUnmanaged(name, controller.Options{
		Logger:                  log.FromContext(ctx), // unset, an unmanaged controller logs nothing, not even a pass's error
		Reconciler:              r,
		MaxConcurrentReconciles: max(cfg.Workers, 1),
		ReconciliationTimeout:   reconcileTimeout, // no worker waits without a deadline
		RateLimiter:             failureBackoff(),
		SkipNameValidation:      &skip, // a kind can be stopped and started again
	})
	if err != nil {
		return nil, fmt.Errorf("create syncer for %s: %w", gvk, err)
	}
	if err := watch(c, r); err != nil {
		return nil, fmt.Errorf("watch claims of %s: %w", gvk, err)
	}
	ctx, cancel := context.WithCancel(log.IntoContext(ctx, log.FromContext(ctx).WithValues("gvk", gvk.String())))
	s := &Syncer{GVK: gvk, cl: cl, cancel: cancel, done: make(chan struct{})}
	go r.importOrphans(ctx)     // claims an uninstall of this cluster left behind come back (importer.go)
	go r.settlePendingLoop(ctx) // remote claims left behind while the control plane was away (pendingpass.go)
	go r.forgetExpiredLoop(ctx) // copies of our writes whose pass never came back (create.go)
	go s.run(ctx, c)
	return s, nil
}

// A pass that failed is retried after a backoff per claim, from
// failureRetryBase doubling up to failureRetryMax. There is no overall
// bucket (controller-runtime's default adds one of 10 retries a second,
// burst 100): the client-side limit (--kube-api-qps) already bounds the
// requests, and after a control-plane blip that failed every claim once,
// such a bucket spaced the retries of 1,000 claims over 90 s.
const (
	failureRetryBase = 5 * time.Millisecond
	failureRetryMax  = 5 * time.Minute
)

func failureBackoff() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](failureRetryBase, failureRetryMax)
}

// run runs the controller; when it ends, for whatever reason, the kind's
// informers go too.
func (s *Syncer) run(ctx context.Context, c controller.Controller) {
	defer close(s.done)
	defer s.removeInformers(ctx)
	if err := c.Start(ctx); err != nil {
		log.FromContext(ctx).Error(err, "Syncer stopped")
	}
}

// removeInformers stops the informers of the syncer's kind in both caches,
// so that a withdrawn kind is no longer listed and watched. The Secret
// informers are shared by every syncer and stay (its handlers are gone).
func (s *Syncer) removeInformers(ctx context.Context) {
	logger := log.FromContext(ctx)
	for side, c := range map[string]cache.Cache{"local": s.cl.Local.GetCache(), "remote": s.cl.Remote.GetCache()} {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(s.GVK)
		if err := c.RemoveInformer(context.WithoutCancel(ctx), u); err != nil {
			logger.Info("Cannot remove informer of a stopped syncer", "cluster", side, "error", err.Error())
		}
	}
}

// Stop ends the syncer and waits until its workers finished and its
// informers are gone.
func (s *Syncer) Stop() {
	s.once.Do(s.cancel)
	<-s.done
}

// Done is closed when the syncer has stopped (after Stop, or on failure).
func (s *Syncer) Done() <-chan struct{} { return s.done }

// watch wires the four event sources: local claims, remote claims, remote
// connection Secrets and our local Secrets, plus gate changes. Each removes
// its event handler when the syncer stops. The control plane's sources do
// not hold up the start: an app cluster whose control plane is away still
// gets its local claims handled (finalizers, conditions).
func watch(c controller.Controller, r *reconciler) error {
	local, remote := r.newLocal(), r.newRemote()
	// The answers to our own writes start no pass (echo.go).
	localH := withoutEchoes(&handler.EnqueueRequestForObject{}, nil, r.isLocalEcho)
	remoteH := withoutEchoes(handler.EnqueueRequestsFromMapFunc(r.mapRemote), r.isRemoteCreatedEcho, nil)
	secretH := withoutEchoes(handler.EnqueueRequestsFromMapFunc(r.mapLocalSecret), r.isSecretCreatedEcho, nil)
	srcs := []source.Source{
		newKindSource(r.cl.Local.GetCache(), local, localH),
		controlplane.NonBlocking(newKindSource(r.cl.Remote.GetCache(), remote, remoteH)),
		controlplane.NonBlocking(newKindSource(r.cl.Remote.GetCache(), &corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.mapRemoteSecret))),
		newKindSource(r.cl.Local.GetCache(), &corev1.Secret{}, secretH),
		source.Func(r.onGateChange),
	}
	for _, s := range srcs {
		if err := c.Watch(s); err != nil {
			return err
		}
	}
	return nil
}

// mapRemote finds the local claim of a remote claim from its origin marks.
func (r *reconciler) mapRemote(_ context.Context, o client.Object) []reconcile.Request {
	origin, ok := conflict.OriginOf(o.GetLabels(), o.GetAnnotations())
	if !ok || origin.ClusterID != r.cfg.ClusterID {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: origin.Namespace, Name: origin.Name}}}
}

// mapRemoteSecret follows a connection Secret to the remote claim that
// controls it (Crossplane sets that owner reference), then to the local claim.
func (r *reconciler) mapRemoteSecret(ctx context.Context, o client.Object) []reconcile.Request {
	owner := metav1.GetControllerOf(o)
	if owner == nil || owner.Kind != r.gvk.Kind || !strings.HasPrefix(owner.APIVersion, r.gvk.Group+"/") {
		return nil
	}
	remote := r.newRemote()
	if err := r.cl.remoteClient().Get(ctx, types.NamespacedName{Namespace: r.cfg.Namespace, Name: owner.Name}, remote); err != nil {
		return nil
	}
	return r.mapRemote(ctx, remote)
}

// mapLocalSecret maps a Secret we wrote to the local claim that controls it.
func (r *reconciler) mapLocalSecret(_ context.Context, o client.Object) []reconcile.Request {
	owner := metav1.GetControllerOf(o)
	if owner == nil || owner.Kind != r.gvk.Kind || !strings.HasPrefix(owner.APIVersion, r.gvk.Group+"/") {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: owner.Name}}}
}

// onGateChange requeues every local claim of the kind whenever the gate opens
// or closes, so that conditions follow and pending work resumes.
func (r *reconciler) onGateChange(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	ch := r.cl.Gate.Subscribe(ctx)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				r.enqueueAll(ctx, q)
			}
		}
	}()
	return nil
}

// enqueueAll queues every local claim of the kind, by the keys of the
// informer's store: nothing is listed or decoded.
func (r *reconciler) enqueueAll(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	store, err := condition.InformerStore(ctx, r.cl.Local.GetCache(), r.newLocal())
	if err != nil {
		log.FromContext(ctx).Error(err, "List local claims after a control-plane change")
		return
	}
	for _, key := range store.ListKeys() {
		if ns, name, err := toolscache.SplitMetaNamespaceKey(key); err == nil {
			q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
		}
	}
}
