package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync/orphan"
)

// The first pass of a new claim creates its remote claim and adds our
// finalizer at the same time, so that the local PATCH is not on the path
// between the user's create and the remote claim. The finalizer is what
// makes a user's delete wait for the remote claim to go; until it has
// landed, a claim can vanish behind our back. The remote claim just created
// is then remembered (unconfirmed) until the finalizer is on the claim, and
// if the claim went meanwhile, decideCreated says what becomes of it: the
// user's delete deletes it (it is the object our own POST made, by uid, so
// no other remote claim can be hit), a CRD deletion orphans it for import,
// and a claim that is still there keeps it (the next pass adopts it).

// CrashCreateUnconfirmed is a crash point (CrashAtEnv): the remote claim of
// a new claim was created; its finalizer may or may not have landed.
const CrashCreateUnconfirmed = "create-unconfirmed"

// errFinalizerPending: the claim is still there without our finalizer; the
// remote claim just created stays and the pass is retried.
var errFinalizerPending = errors.New("the finalizer did not land yet; the remote claim just created is kept")

// unconfirmedCreate is a remote claim we created for a local claim that did
// not carry our finalizer yet.
type unconfirmedCreate struct {
	localUID     types.UID
	remote       types.NamespacedName
	remoteUID    types.UID
	orphanPolicy bool
	secret       string
	// heldAt is when our finalizer's PATCH landed (zero before). The record
	// is kept for heldTTL after that: see heldTTL.
	heldAt time.Time
}

// heldTTL is how long the record of a remote claim we created outlives the
// landing of our finalizer. The API server can let a DELETE that began
// before our finalizer's PATCH landed remove the claim all the same, our
// finalizer and all, with no deleting state in between (kubernetes#77988:
// the store decides "no finalizers, delete now" on the copy it read, then
// deletes without an RV precondition; fixed upstream only after 1.34). Such a
// claim goes by a delete event alone, so a pass finds it NotFound; while the
// record is kept, settleUnconfirmed deletes the remote claim as for a claim
// that went before its finalizer landed. The race lies within one DELETE
// request: far shorter than this.
const heldTTL = justCreatedTTL

// claimNow is the local claim as a live read finds it, after a create.
type claimNow int

const (
	// claimHeld: our finalizer is on it.
	claimHeld claimNow = iota
	// claimWithout: there, not being deleted, without our finalizer.
	claimWithout
	// claimDeleting: being deleted (held by another finalizer), without ours.
	claimDeleting
	// claimGone: not found, or a new claim of that name (another uid).
	claimGone
)

// crdNow is the kind's CRD in the app cluster, as a live read finds it.
type crdNow int

const (
	crdServed crdNow = iota
	crdDeleting
	crdGone
)

// createdAction is what becomes of a remote claim created before the
// finalizer landed.
type createdAction int

const (
	// keepCreated: the claim is ours or will be; nothing to undo.
	keepCreated createdAction = iota
	// retryFinalizer: the claim is there without our finalizer: keep the
	// remote claim and add the finalizer again (the next pass adopts it).
	retryFinalizer
	// deleteCreated: the user deleted the claim: delete what we created.
	deleteCreated
	// orphanCreated: the user deleted a claim that asks to be orphaned: the
	// remote claim stays, orphaned, as reconcileDelete does.
	orphanCreated
	// orphanForImport: the claim went with its CRD, not by a user's
	// delete: the remote claim stays, marked to be imported back.
	orphanForImport
)

func (a createdAction) String() string {
	return [...]string{"keep", "retry the finalizer", "delete the remote claim just created",
		"orphan the remote claim (deletion policy Orphan)", "orphan the remote claim for import (the CRD is going)"}[a]
}

// decideCreated says what becomes of a remote claim we created for a claim
// that had no finalizer yet. Only a claim that is gone or being deleted while
// its CRD is served was deleted by a user (keepOnDelete: the claim asks to be
// orphaned then). A CRD being deleted or gone means the API server's cascade
// may have taken it, and then the remote claim is kept, whatever the deletion
// times say: keeping is the safe side.
func decideCreated(claim claimNow, crd crdNow, keepOnDelete bool) createdAction {
	switch {
	case claim == claimHeld:
		return keepCreated
	case claim == claimWithout:
		return retryFinalizer
	case crd != crdServed:
		return orphanForImport
	case keepOnDelete:
		return orphanCreated
	}
	return deleteCreated
}

// createDue says whether this pass over a claim without our finalizer is
// the one that creates its remote claim: the control plane answers, the
// cache holds no remote claim for it, nor do our fresh creates, and the
// claim was never synced (a remote claim gone since is no new claim's).
// Import copies and claims whose status an earlier version wrote take the
// old order, finalizer first.
func (r *reconciler) createDue(ctx context.Context, local *unstructured.Unstructured) bool {
	if controllerutil.ContainsFinalizer(local, conflict.Finalizer) || hasLegacyStatus(local) || !r.cl.Gate.State().Open {
		return false
	}
	if _, ok := local.GetAnnotations()[conflict.AnnotationImportedFrom]; ok {
		return false
	}
	remote, class, err := r.lookupCached(ctx, local)
	if err != nil || remote != nil || class != conflict.RemoteAbsent {
		return false
	}
	v := r.checkPush(local, nil, class)
	return v.push && !v.recreate
}

// createBesideFinalizer creates the remote claim of a new claim while its
// finalizer is added, then goes on as a normal pass once both are done.
func (r *reconciler) createBesideFinalizer(ctx context.Context, local *unstructured.Unstructured) outcome {
	fin := local.DeepCopy()
	finErr := make(chan error, 1)
	go func() { finErr <- r.ensureFinalizer(ctx, fin) }()
	created, err := r.push(ctx, local, nil, conflict.RemoteAbsent)
	if err == nil {
		r.rememberUnconfirmed(local, created)
		r.crash.at(CrashCreateUnconfirmed)
	}
	ferr := <-finErr
	switch {
	case ferr != nil && err != nil && apierrors.IsNotFound(ferr):
		return outcome{} // nothing was created, and the claim is gone
	case ferr != nil && err != nil:
		return outcome{err: ferr} // nothing was created
	case ferr != nil:
		if serr := r.settleUnconfirmed(ctx, client.ObjectKeyFromObject(local)); !errors.Is(serr, errFinalizerPending) {
			return outcome{err: serr}
		}
		return outcome{err: ferr} // the claim is there: the next pass adopts the remote claim
	}
	// The create may have been remembered after the PATCH's answer.
	r.heldUnconfirmed(client.ObjectKeyFromObject(local))
	local.Object = fin.Object // the claim as the finalizer's PATCH answered
	switch {
	case errors.Is(err, errNameTaken):
		return r.syncClaim(ctx, local, r.lookupRemote)
	case err != nil:
		return r.pushFailed(local, err)
	}
	r.missingSince.Delete(local.GetUID())
	r.markSynced()
	return r.pull(ctx, local, created)
}

// heldUnconfirmed records that our finalizer landed on the claim at key: a
// record of a remote claim created for it is kept for heldTTL (see heldTTL),
// and a remote claim created by this pass (syncClaim) is recorded as held.
func (r *reconciler) heldUnconfirmed(key types.NamespacedName) {
	now := r.now()
	r.finalizerLanded.Store(key, now)
	if v, ok := r.unconfirmed.Load(key); ok {
		if u := v.(unconfirmedCreate); u.heldAt.IsZero() {
			u.heldAt = now
			r.unconfirmed.CompareAndSwap(key, v, u)
		}
	}
}

// createdAfterLanding records a remote claim created for a claim whose
// finalizer landed within heldTTL, as a held record (see heldTTL): the
// finalizer-first order has the same race.
func (r *reconciler) createdAfterLanding(local, created *unstructured.Unstructured) {
	key := client.ObjectKeyFromObject(local)
	v, ok := r.finalizerLanded.Load(key)
	if !ok || r.now().Sub(v.(time.Time)) > heldTTL {
		return
	}
	r.rememberUnconfirmed(local, created)
	r.heldUnconfirmed(key)
}

// forgetHeld drops the record of the claim at key: a pass saw it being
// deleted with our finalizer, or removed our finalizer itself; the delete
// path (reconcileDelete) owns its remote claim from then on.
func (r *reconciler) forgetHeld(key types.NamespacedName) {
	r.unconfirmed.Delete(key)
	r.finalizerLanded.Delete(key)
}

// forgetExpiredHeld drops the records held for longer than heldTTL.
func (r *reconciler) forgetExpiredHeld() {
	now := r.now()
	r.unconfirmed.Range(func(k, v any) bool {
		if at := v.(unconfirmedCreate).heldAt; !at.IsZero() && now.Sub(at) > heldTTL {
			r.unconfirmed.CompareAndDelete(k, v)
		}
		return true
	})
	r.finalizerLanded.Range(func(k, v any) bool {
		if now.Sub(v.(time.Time)) > heldTTL {
			r.finalizerLanded.CompareAndDelete(k, v)
		}
		return true
	})
}

func (r *reconciler) rememberUnconfirmed(local, remote *unstructured.Unstructured) {
	secret, _, _ := unstructured.NestedString(local.Object, "spec", "writeConnectionSecretToRef", "name")
	r.unconfirmed.Store(client.ObjectKeyFromObject(local), unconfirmedCreate{
		localUID: local.GetUID(), remote: client.ObjectKeyFromObject(remote), remoteUID: remote.GetUID(),
		orphanPolicy: orphanPolicy(local), secret: secret,
	})
}

// settleUnconfirmed decides, from live reads, what becomes of the remote
// claim created for the claim at key before its finalizer landed, if there
// is one, and does it. An error leaves it to be decided again.
func (r *reconciler) settleUnconfirmed(ctx context.Context, key types.NamespacedName) error {
	v, ok := r.unconfirmed.Load(key)
	if !ok {
		return nil
	}
	u := v.(unconfirmedCreate)
	claim, policy, err := r.readClaim(ctx, key, u)
	if err != nil {
		return err
	}
	crd := crdServed
	if claim == claimGone || claim == claimDeleting {
		if crd, err = r.readCRD(ctx); err != nil {
			return err
		}
	}
	action := decideCreated(claim, crd, policy)
	if err := r.doCreated(ctx, u, action); err != nil {
		return err
	}
	if action == retryFinalizer {
		return errFinalizerPending
	}
	if claim == claimHeld {
		r.heldUnconfirmed(key) // kept for heldTTL (see heldTTL)
		return nil
	}
	r.unconfirmed.Delete(key)
	switch {
	case action != keepCreated && !u.heldAt.IsZero():
		log.FromContext(ctx).Info("Claim went with our finalizer on it, by a delete that raced the finalizer's PATCH",
			"remote", u.remote.String(), "action", action.String(), "finalizerLanded", u.heldAt)
	case action != keepCreated:
		log.FromContext(ctx).Info("Claim went before its finalizer landed", "remote", u.remote.String(), "action", action.String())
	}
	return nil
}

// readClaim reads the local claim live; policy is its deletion policy, or the
// one it had when gone.
func (r *reconciler) readClaim(ctx context.Context, key types.NamespacedName, u unconfirmedCreate) (claimNow, bool, error) {
	live := r.newLocal()
	err := r.cl.Local.GetAPIReader().Get(ctx, key, live)
	switch {
	case apierrors.IsNotFound(err):
		return claimGone, u.orphanPolicy, nil
	case err != nil:
		return 0, false, fmt.Errorf("read claim %s: %w", key, err)
	case live.GetUID() != u.localUID:
		return claimGone, u.orphanPolicy, nil
	case controllerutil.ContainsFinalizer(live, conflict.Finalizer):
		return claimHeld, orphanPolicy(live), nil
	case !live.GetDeletionTimestamp().IsZero():
		return claimDeleting, orphanPolicy(live), nil
	}
	return claimWithout, orphanPolicy(live), nil
}

// readCRD reads the kind's CRD live (metadata only).
func (r *reconciler) readCRD(ctx context.Context) (crdNow, error) {
	if r.crd == "" {
		return crdServed, nil
	}
	crd, err := r.liveCRD(ctx) // crdgone.go
	switch {
	case apierrors.IsNotFound(err):
		return crdGone, nil
	case err != nil:
		return 0, err
	case !crd.GetDeletionTimestamp().IsZero():
		return crdDeleting, nil
	}
	return crdServed, nil
}

// doCreated carries out action on the remote claim u names. Every write
// carries the uid of the object we created as a precondition: nothing else
// of that name is touched.
func (r *reconciler) doCreated(ctx context.Context, u unconfirmedCreate, action createdAction) error {
	remote := r.newRemote()
	remote.SetNamespace(u.remote.Namespace)
	remote.SetName(u.remote.Name)
	remote.SetUID(u.remoteUID)
	var patch []byte
	switch action {
	case keepCreated, retryFinalizer:
		return nil
	case deleteCreated:
		uid := u.remoteUID
		if err := r.cl.remoteClient().Delete(ctx, remote, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete remote claim %s of a claim deleted before its finalizer landed: %w", klog.KObj(remote), err)
		}
		r.justCreated.Delete(remoteKey(u.remote))
		return nil
	case orphanCreated:
		patch = fmt.Appendf(nil, `{"metadata":{"uid":%q,"labels":{%q:null},"annotations":{%q:%q}}}`,
			u.remoteUID, conflict.LabelClusterID, conflict.AnnotationOrphaned, OrphanedClaimDeleted)
	case orphanForImport:
		p, err := orphan.OrphanPatch(u.secret)
		if err != nil {
			return fmt.Errorf("orphan patch for %s: %w", klog.KObj(remote), err)
		}
		if patch, err = withUID(p, u.remoteUID); err != nil {
			return err
		}
	}
	if err := r.cl.remoteClient().Patch(ctx, remote, client.RawPatch(types.MergePatchType, patch)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("orphan remote claim %s of a claim that went before its finalizer landed: %w", klog.KObj(remote), err)
	}
	r.justCreated.Delete(remoteKey(u.remote))
	return nil
}

// withUID adds the uid to a merge patch's metadata: the uid is immutable, so
// the API server refuses the patch when the object of that name has another.
func withUID(patch []byte, uid types.UID) ([]byte, error) {
	m := map[string]any{}
	if err := json.Unmarshal(patch, &m); err != nil {
		return nil, fmt.Errorf("decode patch: %w", err)
	}
	meta, _ := m["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		m["metadata"] = meta
	}
	meta["uid"] = string(uid)
	return json.Marshal(m)
}
