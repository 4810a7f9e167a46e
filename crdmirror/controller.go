package crdmirror

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/controlplane"
)

// Options configure the mirror.
type Options struct {
	// Connection is the name of this connector's Connection resource; it
	// marks every CRD the connector owns.
	Connection string
	// ControlPlaneHost is recorded on mirrored CRDs (provenance).
	ControlPlaneHost string
	// Sync is handed to every per-kind syncer.
	Sync sync.Config
	// Clusters are the app cluster, the control plane and the gate.
	Clusters sync.Clusters
	// States collects what is mirrored for the Connection status.
	States *connection.States
	// XRDSelector picks the XRDs whose APIs are mirrored (nil: all of them).
	// An XRD that stops matching is withdrawn like one deleted.
	XRDSelector labels.Selector

	retry chan string
}

// SetupWithManager registers the mirror with the manager. It watches XRDs
// and claim CRDs in the control plane and our mirrored CRDs locally.
func SetupWithManager(mgr manager.Manager, opts Options) error {
	opts.retry = make(chan string, 16)
	r := &Reconciler{Options: opts, syncers: newSyncers()}
	if err := mgr.Add(r.syncers); err != nil {
		return fmt.Errorf("add claim syncers to the manager: %w", err)
	}
	xrd := &unstructured.Unstructured{}
	xrd.SetGroupVersionKind(XRDGVK)
	remoteCRD := &metav1.PartialObjectMetadata{}
	remoteCRD.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	retries := make(chan event.GenericEvent)
	go forwardRetries(opts.retry, retries)
	return builder.ControllerManagedBy(mgr).
		Named("crdmirror").
		WatchesRawSource(controlplane.NonBlocking(source.Kind(opts.Clusters.Remote.GetCache(), client.Object(xrd), &handler.EnqueueRequestForObject{}))).
		WatchesRawSource(controlplane.NonBlocking(source.Kind(opts.Clusters.Remote.GetCache(), client.Object(remoteCRD), handler.EnqueueRequestsFromMapFunc(xrdOfRemoteCRD)))).
		WatchesRawSource(source.Func(r.onGateOpen)).
		Watches(&apiextensionsv1.CustomResourceDefinition{}, handler.EnqueueRequestsFromMapFunc(r.xrdOfLocalCRD)).
		WatchesRawSource(source.Channel(retries, &handler.EnqueueRequestForObject{})).
		Complete(r)
}

func forwardRetries(in <-chan string, out chan<- event.GenericEvent) {
	for name := range in {
		u := &unstructured.Unstructured{}
		u.SetName(name)
		out <- event.GenericEvent{Object: u}
	}
}

// xrdOfRemoteCRD maps a claim CRD that Crossplane generated to its XRD (the
// CRD's controller).
func xrdOfRemoteCRD(_ context.Context, o client.Object) []reconcile.Request {
	owner := metav1.GetControllerOf(o)
	if owner == nil || owner.Kind != XRDGVK.Kind || !strings.HasPrefix(owner.APIVersion, XRDGVK.Group+"/") {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: owner.Name}}}
}

// xrdOfLocalCRD maps one of our mirrored CRDs to the XRD it came from.
func (r *Reconciler) xrdOfLocalCRD(_ context.Context, o client.Object) []reconcile.Request {
	if conflict.ClassifyCRD(true, o.GetLabels(), r.Connection) != conflict.LocalOurs {
		return nil
	}
	name := o.GetAnnotations()[conflict.AnnotationXRD]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: name}}}
}

// listXRDs lists the control plane's XRDs from the cache. Until one list
// succeeded, a failure is retried (the Connection does not say every API is
// mirrored before they are known), as long as the control plane is
// reachable.
func (r *Reconciler) listXRDs(ctx context.Context) (*unstructured.UnstructuredList, error) {
	xrds := &unstructured.UnstructuredList{}
	xrds.SetGroupVersionKind(XRDGVK.GroupVersion().WithKind("CompositeResourceDefinitionList"))
	bo := backoff.NewExponentialBackOff()
	bo.MaxElapsedTime = 0
	bo.MaxInterval = 10 * time.Second
	err := backoff.Retry(func() error {
		err := r.Clusters.Remote.GetClient().List(ctx, xrds)
		if err != nil && (r.States.HaveListed() || !r.Clusters.Gate.State().Reachable) {
			return backoff.Permanent(err)
		}
		return err
	}, backoff.WithContext(bo, ctx))
	return xrds, err
}

// onGateOpen requeues every XRD the control plane has, and every API we
// mirror, when the gate opens or the control plane becomes reachable: work
// skipped during an outage resumes.
func (r *Reconciler) onGateOpen(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	ch := r.Clusters.Gate.Subscribe(ctx)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				if g := r.Clusters.Gate.State(); g.Open || g.Reachable {
					r.enqueueAll(ctx, q)
				}
			}
		}
	}()
	return nil
}

func (r *Reconciler) enqueueAll(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if xrds, err := r.listXRDs(ctx); err == nil {
		listed := []connection.APIState{}
		for i, x := range xrds.Items {
			q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: x.GetName()}})
			if a := apiOf(&xrds.Items[i], r.XRDSelector); a.CRD != "" {
				listed = append(listed, connection.APIState{Name: a.CRD, XRD: x.GetName(), Message: "offered by the control plane, not mirrored yet"})
			}
		}
		r.States.Listed(listed)
	}
	crds := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := r.Clusters.Local.GetClient().List(ctx, crds, client.MatchingLabels{conflict.LabelConnection: r.Connection}); err == nil {
		for _, c := range crds.Items {
			for _, req := range r.xrdOfLocalCRD(ctx, &c) {
				q.Add(req)
			}
		}
	}
}
