package crdmirror

import (
	"context"
	"fmt"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
)

// FieldManager owns the mirrored CRDs and their RBAC roles.
const FieldManager = "mcp-connector-crdmirror"

// AnnotationSourceHash on a mirrored CRD is the hash of what was applied:
// equal hashes mean nothing to write.
const AnnotationSourceHash = conflict.Prefix + "source-hash"

// withdrawnRetry is how often a withdrawn API whose CRD is kept for remaining
// local claims checks whether they are gone (their deletion raises no event
// here once the kind's syncer is stopped).
const withdrawnRetry = 10 * time.Second

// XRDGVK is the CompositeResourceDefinition kind watched in the control plane.
var XRDGVK = schema.GroupVersionKind{Group: "apiextensions.crossplane.io", Version: "v1", Kind: "CompositeResourceDefinition"}

// Reconciler mirrors the claim API of one XRD (the request's name).
type Reconciler struct {
	Options
	syncers *syncers
}

// Reconcile mirrors, updates or withdraws the claim API of one XRD.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	// Mirroring reads the control plane's cluster-scoped APIs, not the
	// namespace: it goes on while the namespace is refused (held by another
	// cluster, forbidden), so users see the API and their claims say why
	// they do not sync. Only an unreachable control plane stops it.
	if g := r.Clusters.Gate.State(); !g.Open && !g.Reachable {
		return reconcile.Result{}, r.resumeOffline(ctx, req.Name)
	}
	xrd, err := r.getXRD(ctx, req.Name)
	if err != nil {
		// An outage, a permission error: nothing is inferred, nothing removed.
		return reconcile.Result{}, fmt.Errorf("read XRD %s: %w", req.Name, err)
	}
	a := apiOf(xrd, r.XRDSelector)
	switch {
	case a.CRD == "":
		return r.withdraw(ctx, req.Name, withdrawReason(xrd, r.XRDSelector))
	case a.Refused != "":
		return reconcile.Result{}, r.refuse(ctx, connection.APIState{Name: a.CRD, XRD: req.Name}, a.Refused)
	}
	return r.mirror(ctx, req.Name, a)
}

// getXRD reads an XRD from the cache; a miss is confirmed by a direct read,
// so that "gone" is always observed, never assumed. nil means confirmed gone.
func (r *Reconciler) getXRD(ctx context.Context, name string) (*unstructured.Unstructured, error) {
	xrd := &unstructured.Unstructured{}
	xrd.SetGroupVersionKind(XRDGVK)
	err := r.Clusters.Remote.GetClient().Get(ctx, types.NamespacedName{Name: name}, xrd)
	if apierrors.IsNotFound(err) {
		err = r.Clusters.Remote.GetAPIReader().Get(ctx, types.NamespacedName{Name: name}, xrd)
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return xrd, err
}

func (r *Reconciler) mirror(ctx context.Context, xrdName string, a api) (reconcile.Result, error) {
	crdName := a.CRD
	state := connection.APIState{Name: crdName, XRD: xrdName}
	remote := &apiextensionsv1.CustomResourceDefinition{}
	if err := r.Clusters.Remote.GetAPIReader().Get(ctx, types.NamespacedName{Name: crdName}, remote); err != nil {
		if apierrors.IsNotFound(err) {
			r.States.Set(pending(state, "waiting for Crossplane to generate the CRD"))
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("read CRD %s in the control plane: %w", crdName, err)
	}
	state.Kind, state.Version = remote.Spec.Names.Kind, StorageVersion(remote)
	if !established(remote) {
		r.States.Set(pending(state, "waiting for the CRD to be established in the control plane"))
		return reconcile.Result{}, nil
	}
	local, class, err := r.localCRD(ctx, crdName)
	if err != nil {
		return reconcile.Result{}, err
	}
	if class == conflict.LocalForeign {
		return reconcile.Result{}, r.refuse(ctx, state, "a CRD of this name already exists in the app cluster and is not managed by this connector; it was left untouched")
	}
	if local != nil && !local.DeletionTimestamp.IsZero() {
		return r.whileDeleted(ctx, state, local, xrdName)
	}
	if local, err = r.applyCRD(ctx, remote, local, xrdName, a.Scope); err != nil {
		if apierrors.IsInvalid(err) {
			// The app cluster's API server rejects the CRD: retrying the same
			// CRD cannot help. A change of the XRD or its CRD requeues it.
			return reconcile.Result{}, r.refuse(ctx, state, "the app cluster's API server rejects the mirrored CRD: "+err.Error())
		}
		r.States.Set(pending(state, "cannot write the mirrored CRD in the app cluster (retrying): "+err.Error()))
		return reconcile.Result{}, err
	}
	if err := r.applyRoles(ctx, local); err != nil {
		r.States.Set(pending(state, "cannot write the claim API's ClusterRoles in the app cluster (retrying): "+err.Error()))
		return reconcile.Result{}, err
	}
	if !established(local) {
		r.States.Set(pending(state, "waiting for the mirrored CRD to be established in the app cluster"))
		return reconcile.Result{}, nil
	}
	gvk := schema.GroupVersionKind{Group: remote.Spec.Group, Version: state.Version, Kind: state.Kind}
	if err := r.syncers.ensure(ctx, local, gvk, a.Kind(), r.Sync, r.Clusters, func() { r.requeue(xrdName) }); err != nil {
		return reconcile.Result{}, err
	}
	state.State = connection.StateMirrored
	r.States.Set(state)
	return reconcile.Result{}, nil
}

// resumeOffline runs the syncer of an API mirrored before, from the local
// CRD alone, while the control plane cannot be asked: local claims keep
// getting their finalizer and their condition. The gate opening requeues
// every XRD for a full pass.
func (r *Reconciler) resumeOffline(ctx context.Context, xrdName string) error {
	crd, err := r.mirroredFor(ctx, xrdName)
	if err != nil || crd == nil || !established(crd) {
		return err
	}
	gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: StorageVersion(crd), Kind: crd.Spec.Names.Kind}
	return r.syncers.ensure(ctx, crd, gvk, kindOfCRD(crd), r.Sync, r.Clusters, func() { r.requeue(xrdName) })
}

// deletedRetry is how often a mirrored CRD that someone is deleting is looked
// at again (its removal also raises an event).
const deletedRetry = 5 * time.Second

// whileDeleted keeps the kind's syncer running while someone deletes the
// mirrored CRD in the app cluster: the API server deletes every claim of the
// kind, and the syncer orphans their remote claims (kept in the control
// plane) instead of deleting them. Once the CRD is gone it is mirrored anew,
// and the new syncer imports those claims back.
func (r *Reconciler) whileDeleted(ctx context.Context, state connection.APIState, local *apiextensionsv1.CustomResourceDefinition, xrdName string) (reconcile.Result, error) {
	r.States.Set(pending(state, "the mirrored CRD is being deleted in the app cluster: its claims are kept in the control plane and come back once the API is mirrored again"))
	gvk := schema.GroupVersionKind{Group: local.Spec.Group, Version: StorageVersion(local), Kind: local.Spec.Names.Kind}
	if err := r.syncers.ensure(ctx, local, gvk, kindOfCRD(local), r.Sync, r.Clusters, func() { r.requeue(xrdName) }); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{RequeueAfter: deletedRetry}, nil
}

func pending(s connection.APIState, msg string) connection.APIState {
	s.State, s.Message = connection.StatePending, msg
	return s
}

func (r *Reconciler) refuse(ctx context.Context, s connection.APIState, msg string) error {
	s.State, s.Message = connection.StateRefused, msg
	r.States.Set(s)
	log.FromContext(ctx).Info("Refusing to mirror claim API", "crd", s.Name, "reason", msg)
	return nil
}

// localCRD reads the CRD of that name in the app cluster: from the cache
// (our CRDs only), else directly, which also sees foreign ones.
func (r *Reconciler) localCRD(ctx context.Context, name string) (*apiextensionsv1.CustomResourceDefinition, conflict.Local, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	err := r.Clusters.Local.GetClient().Get(ctx, types.NamespacedName{Name: name}, crd)
	if apierrors.IsNotFound(err) {
		err = r.Clusters.Local.GetAPIReader().Get(ctx, types.NamespacedName{Name: name}, crd)
	}
	if apierrors.IsNotFound(err) {
		return nil, conflict.LocalAbsent, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read CRD %s in the app cluster: %w", name, err)
	}
	return crd, conflict.ClassifyCRD(true, crd.Labels, r.Connection), nil
}

// applyCRD writes the mirror when what we would write changed.
func (r *Reconciler) applyCRD(ctx context.Context, remote, local *apiextensionsv1.CustomResourceDefinition, xrd, scope string) (*apiextensionsv1.CustomResourceDefinition, error) {
	want := Mirror(remote, Source{Connection: r.Connection, ControlPlane: r.ControlPlaneHost, XRD: xrd, Scope: scope}, local)
	hash := conflict.SpecHash(map[string]any{"spec": toMap(&want.Spec), "labels": want.Labels, "annotations": want.Annotations})
	if local != nil && local.Annotations[AnnotationSourceHash] == hash {
		return local, nil
	}
	want.Annotations[AnnotationSourceHash] = hash
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(want)
	if err != nil {
		return nil, err
	}
	obj := &unstructured.Unstructured{Object: u}
	delete(obj.Object, "status")
	unstructured.RemoveNestedField(obj.Object, "metadata", "creationTimestamp")
	if err := r.Clusters.Local.GetClient().Apply(ctx, client.ApplyConfigurationFromUnstructured(obj),
		client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return nil, fmt.Errorf("apply mirrored CRD %s: %w", want.Name, err)
	}
	out := &apiextensionsv1.CustomResourceDefinition{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, out); err != nil {
		return nil, err
	}
	log.FromContext(ctx).Info("Mirrored claim CRD", "crd", want.Name)
	return out, nil
}

// toMap converts a pointer to a struct into its JSON-like map.
func toMap(v any) map[string]any {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(v)
	if err != nil {
		panic(fmt.Sprintf("convert %T: %v", v, err)) // a programming error: v must be a pointer to a struct
	}
	return m
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established {
			return c.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}

// withdraw handles an XRD that is gone or offers no claim any more: the kind's
// syncer stops; the mirrored CRD is deleted only if no local claims remain.
func (r *Reconciler) withdraw(ctx context.Context, xrdName, why string) (reconcile.Result, error) {
	crd, err := r.mirroredFor(ctx, xrdName)
	if err != nil || crd == nil {
		if crd == nil && err == nil {
			r.States.Forget(xrdName)
		}
		return reconcile.Result{}, err
	}
	// Withdrawn first: the Connection stops counting the kind's claims
	// (a count from the cache would start its informer again).
	state := connection.APIState{Name: crd.Name, Kind: crd.Spec.Names.Kind, Version: StorageVersion(crd), XRD: xrdName,
		State: connection.StateWithdrawn, Message: why}
	r.States.Set(state)
	r.syncers.stop(crd.Name)
	n, err := r.releaseClaims(ctx, crd)
	if !conflict.MayDeleteCRD(conflict.LocalOurs, true, n, err == nil) {
		state.Message = fmt.Sprintf("%s; the CRD is kept while %d local objects remain (delete them to remove it)", why, n)
		if err != nil {
			state.Message = why + "; the CRD is kept because local objects could not be counted: " + err.Error()
		}
		r.States.Set(state)
		return reconcile.Result{RequeueAfter: withdrawnRetry}, nil
	}
	uid := crd.UID
	if err := r.Clusters.Local.GetClient().Delete(ctx, crd, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
		return reconcile.Result{}, fmt.Errorf("delete withdrawn CRD %s: %w", crd.Name, err)
	}
	log.FromContext(ctx).Info("Removed withdrawn claim CRD", "crd", crd.Name)
	r.States.Forget(xrdName)
	return reconcile.Result{}, nil
}

// mirroredFor finds our mirrored CRD made from the XRD, if any.
func (r *Reconciler) mirroredFor(ctx context.Context, xrdName string) (*apiextensionsv1.CustomResourceDefinition, error) {
	list := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := r.Clusters.Local.GetClient().List(ctx, list, client.MatchingLabels{
		conflict.LabelManaged: "true", conflict.LabelConnection: r.Connection}); err != nil {
		return nil, fmt.Errorf("list mirrored CRDs: %w", err)
	}
	for i := range list.Items {
		if list.Items[i].Annotations[conflict.AnnotationXRD] == xrdName {
			return &list.Items[i], nil
		}
	}
	return nil, nil
}

// releaseClaims counts the local claims of a withdrawn kind and removes our
// finalizer from them: their remote claims went with the API, so there is
// nothing left to wait for, and users must be able to delete them.
func (r *Reconciler) releaseClaims(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) (int, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(schema.GroupVersionKind{Group: crd.Spec.Group, Version: StorageVersion(crd), Kind: crd.Spec.Names.ListKind})
	if err := r.Clusters.Local.GetAPIReader().List(ctx, list); err != nil {
		return 0, err
	}
	for i := range list.Items {
		c := &list.Items[i]
		if !controllerutil.ContainsFinalizer(c, conflict.Finalizer) {
			continue
		}
		base := c.DeepCopy()
		controllerutil.RemoveFinalizer(c, conflict.Finalizer)
		if err := r.Clusters.Local.GetClient().Patch(ctx, c, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); client.IgnoreNotFound(err) != nil {
			return len(list.Items), err
		}
	}
	return len(list.Items), nil
}

func (r *Reconciler) requeue(xrd string) {
	select {
	case r.retry <- xrd:
	default:
	}
}
