package sync

import (
	"context"
	"fmt"
	gosync "sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync/condition"
)

// refusedRetry is how often a claim whose remote name is taken by a foreign
// object looks again: foreign objects are outside our cache, so their removal
// raises no event.
const refusedRetry = time.Minute

// conflictRetry is how soon a claim whose write lost a race (HTTP 409) is
// reconciled again: quietly, from a fresh read, without an error or a
// condition. The other writer's change usually raises an event first.
const conflictRetry = 100 * time.Millisecond

type reconciler struct {
	cfg Config
	cl  Clusters
	gvk schema.GroupVersionKind
	now func() time.Time
	// missingSince records, per local claim uid, when its remote claim was
	// first seen deleted by someone else (for the re-create grace period).
	missingSince gosync.Map
}

func newReconciler(cfg Config, cl Clusters, gvk schema.GroupVersionKind) *reconciler {
	return &reconciler{cfg: cfg, cl: cl, gvk: gvk, now: time.Now}
}

func (r *reconciler) newLocal() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(r.gvk)
	return u
}

func (r *reconciler) newRemote() *unstructured.Unstructured { return r.newLocal() }

// Reconcile brings one local claim and its remote counterpart in step. A
// write that lost a race with another writer (409) is a quiet requeue.
func (r *reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	res, err := r.reconcile(ctx, req)
	if lostRace(err) {
		return reconcile.Result{RequeueAfter: conflictRetry}, nil
	}
	return res, err
}

// lostRace says whether a write failed only because another writer got
// there first: a 409 on update, or a create of something created meanwhile.
func lostRace(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
}

func (r *reconciler) reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	local := r.newLocal()
	if err := r.cl.localClient().Get(ctx, req.NamespacedName, local); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("claim", klog.KObj(local)))
	if !local.GetDeletionTimestamp().IsZero() {
		return r.reconcileDelete(ctx, local)
	}
	if err := r.ensureFinalizer(ctx, local); err != nil {
		return reconcile.Result{}, err
	}
	return r.reconcileNormal(ctx, local)
}

func (r *reconciler) reconcileNormal(ctx context.Context, local *unstructured.Unstructured) (reconcile.Result, error) {
	gate := r.cl.Gate.State()
	if !gate.Open {
		return reconcile.Result{RequeueAfter: r.untilStale(gate)}, r.writeStatus(ctx, local, r.offlineStatus(local, gate))
	}
	remote, class, err := r.lookupRemote(ctx, local)
	if err != nil {
		return reconcile.Result{}, err
	}
	if res, done, err := r.checkPush(ctx, local, remote, class); done {
		return res, err
	}
	remote, err = r.push(ctx, local, remote, class)
	if err != nil {
		return r.pushFailed(ctx, local, err)
	}
	r.missingSince.Delete(local.GetUID())
	r.markSynced() // metrics.go: the claim's spec is in the control plane
	if local, err = r.pullSpec(ctx, local, remote); err != nil {
		return reconcile.Result{}, err
	}
	cond := syncedCondition(local)
	c, err := r.pullSecret(ctx, local, remote)
	if err != nil {
		return reconcile.Result{}, err
	}
	if c != nil {
		cond = *c
	}
	return reconcile.Result{}, r.writeStatus(ctx, local, r.mirroredStatus(local, remote, cond))
}

// checkPush stops a push that must not happen: a foreign remote object, a
// remote claim being deleted, or one deleted by someone else still within its
// grace period. done is true when the caller must return res, err.
func (r *reconciler) checkPush(ctx context.Context, local, remote *unstructured.Unstructured, class conflict.Remote) (res reconcile.Result, done bool, err error) {
	if conflict.Push(class, r.adopt(local)) == conflict.ActionRefuse {
		reason, msg := class.Reason()
		return reconcile.Result{RequeueAfter: refusedRetry}, true, r.writeStatus(ctx, local, r.keptStatus(local, falseCondition(reason, msg)))
	}
	if class == conflict.RemoteOurs && !remote.GetDeletionTimestamp().IsZero() {
		c := falseCondition("RemoteDeleting", "the remote claim is being deleted in the control plane; it will be re-created from this copy once gone")
		return reconcile.Result{}, true, r.writeStatus(ctx, local, r.keptStatus(local, c))
	}
	if class != conflict.RemoteAbsent || !wasSynced(local) {
		return reconcile.Result{}, false, nil
	}
	first, _ := r.missingSince.LoadOrStore(local.GetUID(), r.now())
	if wait := r.cfg.RecreateGrace - r.now().Sub(first.(time.Time)); wait > 0 {
		c := falseCondition("RemoteDeleted", "the remote claim was deleted in the control plane by someone else; it will be re-created from this copy")
		return reconcile.Result{RequeueAfter: wait}, true, r.writeStatus(ctx, local, r.keptStatus(local, c))
	}
	r.event(local, corev1.EventTypeWarning, "RecreatedInControlPlane", "The remote claim was deleted in the control plane by someone else; re-creating it from this copy")
	return reconcile.Result{}, false, nil
}

func (r *reconciler) pushFailed(ctx context.Context, local *unstructured.Unstructured, err error) (reconcile.Result, error) {
	if apierrors.IsConflict(err) {
		return reconcile.Result{RequeueAfter: conflictRetry}, nil
	}
	c := falseCondition("PushFailed", "the control plane rejected the claim: "+err.Error())
	if werr := r.writeStatus(ctx, local, r.keptStatus(local, c)); werr != nil {
		log.FromContext(ctx).Info("Could not record push failure", "error", werr.Error())
	}
	if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) {
		r.event(local, corev1.EventTypeWarning, "PushFailed", "The control plane rejected the claim: "+err.Error())
		return reconcile.Result{}, reconcile.TerminalError(err)
	}
	return reconcile.Result{}, fmt.Errorf("push claim %s to control plane: %w", klog.KObj(local), err)
}

func (r *reconciler) reconcileDelete(ctx context.Context, local *unstructured.Unstructured) (reconcile.Result, error) {
	if !controllerutil.ContainsFinalizer(local, conflict.Finalizer) {
		return reconcile.Result{}, nil
	}
	if gate := r.cl.Gate.State(); !gate.Open {
		c := falseCondition(gate.Reason, "deletion waits for the control plane: "+gate.Message)
		return reconcile.Result{}, r.writeStatus(ctx, local, r.keptStatus(local, c))
	}
	remote, class, err := r.lookupRemote(ctx, local)
	if err != nil {
		return reconcile.Result{}, err
	}
	switch {
	case !conflict.MayDeleteRemote(class):
		return reconcile.Result{}, r.removeFinalizer(ctx, local)
	case local.GetAnnotations()[conflict.AnnotationDeletionPolicy] == conflict.DeletionPolicyOrphan:
		if err := r.orphanRemote(ctx, remote, "claim-deleted"); err != nil {
			return reconcile.Result{}, err
		}
		r.event(local, corev1.EventTypeNormal, "Orphaned", "Deleted locally; the remote claim was kept in the control plane")
		return reconcile.Result{}, r.removeFinalizer(ctx, local)
	case remote.GetDeletionTimestamp().IsZero():
		uid := remote.GetUID()
		if err := r.cl.remoteClient().Delete(ctx, remote, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
			return reconcile.Result{}, fmt.Errorf("delete remote claim %s: %w", remote.GetName(), err)
		}
		r.event(local, corev1.EventTypeNormal, "DeletingInControlPlane", "Deleting the remote claim "+remote.GetName()+"; waiting for the control plane to remove it")
	}
	c := falseCondition("Deleting", "waiting for the control plane to remove the remote claim and its composite resources")
	return reconcile.Result{}, r.writeStatus(ctx, local, r.keptStatus(local, c))
}

func (r *reconciler) ensureFinalizer(ctx context.Context, local *unstructured.Unstructured) error {
	if controllerutil.ContainsFinalizer(local, conflict.Finalizer) {
		return nil
	}
	base := local.DeepCopy()
	controllerutil.AddFinalizer(local, conflict.Finalizer)
	if err := r.cl.localClient().Patch(ctx, local, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("add finalizer to %s: %w", klog.KObj(local), err)
	}
	return nil
}

func (r *reconciler) removeFinalizer(ctx context.Context, local *unstructured.Unstructured) error {
	base := local.DeepCopy()
	controllerutil.RemoveFinalizer(local, conflict.Finalizer)
	if err := r.cl.localClient().Patch(ctx, local, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("remove finalizer from %s: %w", klog.KObj(local), err)
	}
	r.missingSince.Delete(local.GetUID())
	return nil
}

// lookupRemote finds the remote claim under the mapped name: in the cache
// first (which holds only our objects), then, if absent there, by a direct
// read, which also sees foreign objects and our own fresh writes.
func (r *reconciler) lookupRemote(ctx context.Context, local *unstructured.Unstructured) (*unstructured.Unstructured, conflict.Remote, error) {
	key := types.NamespacedName{Namespace: r.cfg.Namespace, Name: RemoteName(r.cfg.ClusterID, local.GetNamespace(), local.GetName())}
	remote := r.newRemote()
	err := r.cl.remoteClient().Get(ctx, key, remote)
	if apierrors.IsNotFound(err) {
		err = r.cl.Remote.GetAPIReader().Get(ctx, key, remote)
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, conflict.RemoteAbsent, nil
	case err != nil:
		return nil, 0, fmt.Errorf("read remote claim %s: %w", key, err)
	}
	return remote, conflict.ClassifyRemote(true, remote.GetLabels(), remote.GetAnnotations(), r.origin(local)), nil
}

func (r *reconciler) origin(local *unstructured.Unstructured) conflict.Origin {
	return conflict.Origin{ClusterID: r.cfg.ClusterID, Namespace: local.GetNamespace(), Name: local.GetName(), UID: string(local.GetUID())}
}

func (r *reconciler) adopt(local *unstructured.Unstructured) bool {
	return r.cfg.Adopt || local.GetAnnotations()[conflict.AnnotationAdopt] == "true"
}

// orphanRemote lets go of a remote claim: our cluster-id label goes, so no
// connector of this cluster will touch it again, and an annotation says why.
func (r *reconciler) orphanRemote(ctx context.Context, remote *unstructured.Unstructured, why string) error {
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:null},"annotations":{%q:%q}}}`, conflict.LabelClusterID, conflict.AnnotationOrphaned, why)
	if err := r.cl.remoteClient().Patch(ctx, remote, client.RawPatch(types.MergePatchType, []byte(patch))); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("orphan remote claim %s: %w", remote.GetName(), err)
	}
	return nil
}

// wasSynced says whether the local claim was bound to a remote claim before,
// so that a missing remote claim means someone deleted it.
func wasSynced(local *unstructured.Unstructured) bool {
	if _, ok, _ := unstructured.NestedMap(local.Object, "spec", "resourceRef"); ok {
		return true
	}
	c := findCondition(local, condition.Type)
	return c != nil && (c.Reason == "Synced" || c.Reason == "RemoteDeleted")
}

func (r *reconciler) event(local *unstructured.Unstructured, typ, reason, msg string) {
	r.cl.Recorder.Event(local, typ, reason, msg)
}
