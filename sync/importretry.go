package sync

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// namespacesCreated signals, on the returned channel, each time a namespace
// is created in the app cluster (coalesced: one signal may stand for many),
// so that claims skipped at import because their namespace was missing are
// tried again without a restart. The namespaces already there when the watch
// starts signal once too. It watches namespaces' metadata through the shared
// cache; stop removes the handler (the informer is shared, like the Secret
// informers, and stays). A watch that cannot be set up returns a nil channel.
func (r *reconciler) namespacesCreated(ctx context.Context) (<-chan struct{}, func()) {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	inf, err := r.cl.Local.GetCache().GetInformer(ctx, ns, cache.BlockUntilSynced(false))
	if err != nil {
		log.FromContext(ctx).Info("Cannot watch namespaces; claims skipped at import are tried again at the next start", "error", err.Error())
		return nil, nil
	}
	created := make(chan struct{}, 1)
	reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: func(any) {
		select {
		case created <- struct{}{}:
		default:
		}
	}})
	if err != nil {
		log.FromContext(ctx).Info("Cannot watch namespaces; claims skipped at import are tried again at the next start", "error", err.Error())
		return nil, nil
	}
	return created, func() { _ = inf.RemoveEventHandler(reg) }
}
