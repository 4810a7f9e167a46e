package sync

import (
	"context"
	"errors"
	"fmt"
	"os"
	gosync "sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
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

// A claim whose write lost a race (HTTP 409, or a create of something created
// meanwhile) is reconciled again quietly, from a fresh read, after a backoff
// per claim that starts at raceRetryBase and doubles up to raceRetryMax. The
// other writer's change usually raises an event first.
const (
	raceRetryBase = 100 * time.Millisecond
	raceRetryMax  = time.Minute
)

type reconciler struct {
	cfg Config
	cl  Clusters
	gvk schema.GroupVersionKind
	// crd is the name of the kind's CRD in the app cluster.
	crd string
	// kind: claims or namespaced XRs (kind.go).
	kind Kind
	now  func() time.Time
	// missingSince records, per local claim uid, when its remote claim was
	// first seen deleted by someone else (for the re-create grace period).
	missingSince gosync.Map
	// raceBackoff spaces the quiet retries of claims that keep losing races.
	// It is the reconciler's own: controller-runtime's rate-limited requeue
	// (Result.Requeue) is deprecated, and a returned error is logged.
	raceBackoff workqueue.TypedRateLimiter[reconcile.Request]
	// crash is the test hook of CrashAtEnv (crash.go).
	crash crashHook
	// justCreated holds our creates until the cache shows them (create.go).
	justCreated gosync.Map
	// wroteStatus holds, per local claim uid, a digest of our last status
	// write until the cache shows it (status.go).
	wroteStatus gosync.Map
	// cachedWhileDeleting records, per local claim uid, that the cache held
	// the remote claim while the local claim was being deleted (lookupDeleting).
	cachedWhileDeleting gosync.Map
	// deletedRemote records, per local claim uid, the uid of the remote claim
	// we deleted, so that a pass on a cache that does not show the deletion
	// yet does not delete it again.
	deletedRemote gosync.Map
	// echoes holds the versions our writes returned, so that their watch
	// events start no pass (echo.go).
	echoes echoes
	// unconfirmed holds, per local claim key, the remote claim we created
	// before our finalizer landed on it (firstcreate.go).
	unconfirmed gosync.Map
	// finalizerLanded records, per local claim key, when our finalizer's
	// PATCH landed, for heldTTL (firstcreate.go).
	finalizerLanded gosync.Map
}

func newReconciler(cfg Config, cl Clusters, gvk schema.GroupVersionKind) *reconciler {
	r := &reconciler{cfg: cfg, cl: cl, gvk: gvk, now: time.Now, crash: crashHook(os.Getenv(CrashAtEnv)),
		raceBackoff: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](raceRetryBase, raceRetryMax)}
	r.echoes.now = func() time.Time { return r.now() }
	return r
}

func (r *reconciler) newLocal() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(r.gvk)
	return u
}

func (r *reconciler) newRemote() *unstructured.Unstructured { return r.newLocal() }

// applyConfig is what a server-side apply to the local claim sends: its
// identity and the one top-level field that manager owns, no
// resourceVersion.
func (r *reconciler) applyConfig(local *unstructured.Unstructured, field string, value map[string]any) *unstructured.Unstructured {
	u := r.newLocal()
	u.SetNamespace(local.GetNamespace())
	u.SetName(local.GetName())
	u.Object[field] = value
	return u
}

// outcome is what one pass over a claim decided. Its status is computed, not
// written: Reconcile writes it once, at the end.
type outcome struct {
	// status is the local claim's desired status; nil leaves it as it is.
	status map[string]any
	// requeueAfter is a wait that is about time (a grace or stale period, a
	// foreign object whose removal raises no event).
	requeueAfter time.Duration
	err          error
}

// Reconcile brings one local claim and its remote counterpart in step, then
// writes the claim's status once. A write that lost a race with another
// writer is retried quietly, with backoff, and writes no status.
func (r *reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	local := r.newLocal()
	if err := r.cl.localClient().Get(ctx, req.NamespacedName, local); err != nil {
		r.raceBackoff.Forget(req)
		if apierrors.IsNotFound(err) {
			// A claim that went before its finalizer landed may leave a
			// remote claim just created (firstcreate.go).
			return reconcile.Result{}, r.settleUnconfirmed(ctx, req.NamespacedName)
		}
		return reconcile.Result{}, fmt.Errorf("read claim %s: %w", req.NamespacedName, err)
	}
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("claim", klog.KObj(local)))
	out := r.reconcileClaim(ctx, local)
	if lostRace(out.err) {
		return reconcile.Result{RequeueAfter: r.raceBackoff.When(req)}, nil
	}
	r.raceBackoff.Forget(req)
	if err := r.writeStatus(ctx, local, out.status); err != nil {
		return reconcile.Result{}, statusFailed(err, out.err)
	}
	if out.err != nil {
		return reconcile.Result{}, out.err
	}
	return reconcile.Result{RequeueAfter: out.requeueAfter}, nil
}

// reconcileClaim handles a claim being deleted, or else makes sure it
// carries our finalizer and that its status is ours to apply, and syncs it.
func (r *reconciler) reconcileClaim(ctx context.Context, local *unstructured.Unstructured) outcome {
	if !local.GetDeletionTimestamp().IsZero() {
		return r.reconcileDelete(ctx, local)
	}
	if r.createDue(ctx, local) { // a new claim: its remote claim and finalizer at once (firstcreate.go)
		return r.createBesideFinalizer(ctx, local)
	}
	if err := r.ensureFinalizer(ctx, local); err != nil {
		return outcome{err: err}
	}
	if err := r.ensureStatusOwner(ctx, local); err != nil {
		return outcome{err: err}
	}
	return r.reconcileNormal(ctx, local)
}

// lostRace says whether a write failed only because another writer got
// there first: a 409 on update, or a create of something created meanwhile.
func lostRace(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
}

// statusFailed is the error of a pass whose status could not be written. It
// is retried, even after a terminal error: the next pass computes the status
// (and that error) again. The pass's own error is kept as context.
func statusFailed(werr, passErr error) error {
	if passErr == nil {
		return werr
	}
	return fmt.Errorf("%w (after: %v)", werr, passErr)
}

func (r *reconciler) reconcileNormal(ctx context.Context, local *unstructured.Unstructured) outcome {
	gate := r.cl.Gate.State()
	if !gate.Open {
		return outcome{status: r.offlineStatus(local, gate), requeueAfter: r.untilStale(gate)}
	}
	out := r.syncClaim(ctx, local, r.lookupCached)
	if errors.Is(out.err, errNameTaken) { // create-first met an object the cache does not hold (create.go)
		out = r.syncClaim(ctx, local, r.lookupRemote)
	}
	return out
}

// syncClaim pushes the claim and pulls the control plane's side, finding the
// remote claim with lookup.
func (r *reconciler) syncClaim(ctx context.Context, local *unstructured.Unstructured,
	lookup func(context.Context, *unstructured.Unstructured) (*unstructured.Unstructured, conflict.Remote, error)) outcome {
	remote, class, err := lookup(ctx, local)
	if err != nil {
		c := readFailed(err, condition.ReasonUnreachable, "the remote claim")
		return outcome{status: r.keptStatus(local, c), err: err}
	}
	v := r.checkPush(local, remote, class)
	if !v.push {
		return outcome{status: r.keptStatus(local, falseCondition(v.reason, v.message)), requeueAfter: v.wait}
	}
	absent := remote == nil
	remote, err = r.push(ctx, local, remote, class)
	if err != nil {
		return r.pushFailed(local, err)
	}
	if absent && remote != nil {
		r.createdAfterLanding(local, remote) // see heldTTL (firstcreate.go)
	}
	if err := r.finishImport(ctx, local, remote); err != nil {
		return outcome{err: err}
	}
	if v.recreate {
		r.event(local, corev1.EventTypeWarning, EventRecreated, "The remote claim was deleted in the control plane by someone else; re-created it from this copy")
	}
	r.missingSince.Delete(local.GetUID())
	r.markSynced() // metrics.go: the claim's spec is in the control plane
	return r.pull(ctx, local, remote)
}

// pull brings the control plane's side down (its spec fields, then the
// connection Secret) and computes the mirrored status.
func (r *reconciler) pull(ctx context.Context, local, remote *unstructured.Unstructured) outcome {
	if err := r.pullSpec(ctx, local, remote); err != nil {
		return outcome{err: err}
	}
	c, err := r.pullSecrets(ctx, local, remote)
	if err != nil {
		return outcome{err: err}
	}
	cond := syncedCondition(local)
	if c != nil {
		cond = *c
	}
	return outcome{status: r.mirroredStatus(local, remote, cond)}
}

// checkPush gathers what decides whether the push may happen (pushgate.go),
// recording when a remote claim was first seen missing.
func (r *reconciler) checkPush(local, remote *unstructured.Unstructured, class conflict.Remote) pushVerdict {
	f := pushFacts{class: class, adopt: r.adopt(local), wasSynced: wasSynced(local), grace: r.cfg.RecreateGrace}
	f.remoteDeleting = remote != nil && !remote.GetDeletionTimestamp().IsZero()
	if remote != nil {
		f.recordedUID = remote.GetAnnotations()[conflict.AnnotationClaimUID]
	}
	if class == conflict.RemoteAbsent && f.wasSynced {
		first, _ := r.missingSince.LoadOrStore(local.GetUID(), r.now())
		f.missingFor = r.now().Sub(first.(time.Time))
	}
	return decidePush(f)
}

func (r *reconciler) reconcileDelete(ctx context.Context, local *unstructured.Unstructured) outcome {
	if !controllerutil.ContainsFinalizer(local, conflict.Finalizer) {
		return outcome{err: r.settleUnconfirmed(ctx, client.ObjectKeyFromObject(local))}
	}
	r.forgetHeld(client.ObjectKeyFromObject(local)) // seen deleting with our finalizer: this path deletes the remote claim
	if gate := r.cl.Gate.State(); !gate.Open {
		if orphanLaterAllowed(local, gate, r.cfg.PendingNamespace) {
			// A claim that goes with its CRD waits, as every claim of the
			// kind does, to be orphaned for import once the control plane
			// answers: a pending orphan is never imported back.
			going, err := r.deletedWithCRD(ctx, local)
			if err != nil {
				return outcome{err: err}
			}
			if !going {
				return outcome{err: r.orphanLater(ctx, local, gate)} // pendingpass.go
			}
		}
		return outcome{status: r.keptStatus(local, falseCondition(gate.Reason, "deletion waits for the control plane: "+gate.Message))}
	}
	remote, class, err := r.lookupDeleting(ctx, local)
	if err != nil {
		return outcome{err: err}
	}
	if !conflict.MayDeleteRemote(class) {
		return outcome{err: r.removeFinalizer(ctx, local)}
	}
	going, err := r.deletedWithCRD(ctx, local)
	if err != nil {
		return outcome{err: err}
	}
	switch {
	case going && remote.GetDeletionTimestamp().IsZero():
		return outcome{err: r.orphanForCRD(ctx, local, remote)}
	case orphanPolicy(local):
		if err := r.orphanRemote(ctx, remote, OrphanedClaimDeleted); err != nil {
			return outcome{err: err}
		}
		r.event(local, corev1.EventTypeNormal, EventOrphaned, "Deleted locally; the remote claim was kept in the control plane")
		return outcome{err: r.removeFinalizer(ctx, local)}
	case remote.GetDeletionTimestamp().IsZero() && !r.deletedBefore(local, remote):
		if err := r.deleteRemote(ctx, local, remote); err != nil {
			return outcome{err: err}
		}
	}
	c := falseCondition(condition.ReasonDeleting, "waiting for the control plane to remove the remote claim and its composite resources")
	return outcome{status: r.keptStatus(local, c)}
}

func (r *reconciler) deleteRemote(ctx context.Context, local, remote *unstructured.Unstructured) error {
	uid := remote.GetUID()
	if err := r.cl.remoteClient().Delete(ctx, remote, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete remote claim %s: %w", klog.KObj(remote), err)
	}
	r.deletedRemote.Store(local.GetUID(), uid)
	r.event(local, corev1.EventTypeNormal, EventDeletingRemote, "Deleting the remote claim "+remote.GetName()+"; waiting for the control plane to remove it")
	return nil
}

func (r *reconciler) ensureFinalizer(ctx context.Context, local *unstructured.Unstructured) error {
	if controllerutil.ContainsFinalizer(local, conflict.Finalizer) {
		return nil
	}
	controllerutil.AddFinalizer(local, conflict.Finalizer)
	failed := r.writingLocal(local)
	if err := r.cl.localClient().Patch(ctx, local, finalizersPatch(local)); err != nil {
		failed()
		return fmt.Errorf("add finalizer to %s: %w", klog.KObj(local), err)
	}
	r.wroteLocal(local)
	r.heldUnconfirmed(client.ObjectKeyFromObject(local)) // kept a while: see heldTTL
	return nil
}

// removeFinalizer lets the local claim go; the claim counts change.
func (r *reconciler) removeFinalizer(ctx context.Context, local *unstructured.Unstructured) error {
	controllerutil.RemoveFinalizer(local, conflict.Finalizer)
	if err := r.cl.localClient().Patch(ctx, local, finalizersPatch(local)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("remove finalizer from %s: %w", klog.KObj(local), err)
	}
	r.missingSince.Delete(local.GetUID())
	r.cachedWhileDeleting.Delete(local.GetUID())
	r.deletedRemote.Delete(local.GetUID())
	r.forgetHeld(client.ObjectKeyFromObject(local))
	r.claimChanged()
	return nil
}

// claimChanged calls the OnClaimChange hook, if any.
func (r *reconciler) claimChanged() {
	if r.cfg.OnClaimChange != nil {
		r.cfg.OnClaimChange()
	}
}

// lookupRemote finds the remote claim under the mapped name: in the cache
// first (which holds only our objects), then, if absent there, by a direct
// read, which also sees foreign objects and our own fresh writes. An
// orphaned remote claim that this local claim is the unfinished import
// copy of counts as ours (conflict.ClassifyImport).
func (r *reconciler) lookupRemote(ctx context.Context, local *unstructured.Unstructured) (*unstructured.Unstructured, conflict.Remote, error) {
	key := types.NamespacedName{Namespace: r.cfg.Namespace, Name: RemoteNameOf(r.cfg.ClusterID, local)}
	remote := r.newRemote()
	err := cacheGet(ctx, r.cl.remoteClient(), key, remote)
	if apierrors.IsNotFound(err) {
		err = r.cl.Remote.GetAPIReader().Get(ctx, key, remote)
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, conflict.RemoteAbsent, nil
	case err != nil:
		return nil, 0, fmt.Errorf("read remote claim %s: %w", key, err)
	}
	return remote, r.classify(local, remote), nil
}

// lookupDeleting finds the remote claim of a local claim being deleted, as
// lookupRemote does, with one read less: once the cache has held the remote
// claim during the deletion, it follows that object, so a miss means it is
// gone (or no longer ours) and the local claim may go without a live read
// across the distance to the control plane. A remote claim the cache never
// held (an orphaned one being imported, a create the cache has not shown
// yet) is still read live.
func (r *reconciler) lookupDeleting(ctx context.Context, local *unstructured.Unstructured) (*unstructured.Unstructured, conflict.Remote, error) {
	key := types.NamespacedName{Namespace: r.cfg.Namespace, Name: RemoteNameOf(r.cfg.ClusterID, local)}
	remote := r.newRemote()
	err := cacheGet(ctx, r.cl.remoteClient(), key, remote)
	_, seen := r.cachedWhileDeleting.Load(local.GetUID())
	switch {
	case err == nil:
		r.cachedWhileDeleting.Store(local.GetUID(), struct{}{})
		return remote, r.classify(local, remote), nil
	case !apierrors.IsNotFound(err):
		return nil, 0, fmt.Errorf("read remote claim %s: %w", key, err)
	case seen:
		return nil, conflict.RemoteAbsent, nil
	}
	return r.lookupRemote(ctx, local)
}

// deletedBefore says whether we already deleted this remote claim for this
// local claim.
func (r *reconciler) deletedBefore(local, remote *unstructured.Unstructured) bool {
	uid, ok := r.deletedRemote.Load(local.GetUID())
	return ok && uid == remote.GetUID()
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
		return fmt.Errorf("orphan remote claim %s: %w", klog.KObj(remote), err)
	}
	return nil
}
