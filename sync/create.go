package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/csaupgrade"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// Create first, read only on AlreadyExists. A remote claim that the cache
// (our objects only) does not hold is created with a POST, which fails for
// any object of that name, ours or not: only then is the name read live, to
// tell a foreign object from our own fresh write. A new claim thus costs one
// request to the control plane.

// errNameTaken wraps the AlreadyExists of a create-first push.
var errNameTaken = errors.New("the remote name is taken by an object the cache does not hold")

// justCreatedTTL bounds how long a write of ours stands in for its cache
// entry; the watch event normally arrives within milliseconds.
const justCreatedTTL = 30 * time.Second

// created is what we created, per object key, until the cache holds it, so
// that the pass right after a create (the status write raises a watch event
// of its own) does not take a cache that lags by a few milliseconds for an
// absent object and create again.
type created struct {
	obj client.Object
	at  time.Time
}

func (r *reconciler) rememberCreated(key string, obj client.Object) {
	r.justCreated.Store(key, created{obj: obj, at: r.now()})
}

// forgetExpired drops every entry older than justCreatedTTL. An entry is
// normally dropped by the pass that finds the cache caught up; one whose
// pass never comes (the last status write of a claim, a Secret copy) would
// otherwise hold a copy of the object for as long as the process runs:
// 2 to 3 KiB a claim after an initial sync.
func (r *reconciler) forgetExpired() {
	now := r.now()
	r.justCreated.Range(func(k, v any) bool {
		if now.Sub(v.(created).at) > justCreatedTTL {
			r.justCreated.Delete(k)
		}
		return true
	})
	r.wroteStatus.Range(func(k, v any) bool {
		if now.Sub(v.(*statusWrite).at) > justCreatedTTL {
			r.wroteStatus.CompareAndDelete(k, v)
		}
		return true
	})
	r.echoes.forgetExpired()
	r.forgetExpiredHeld()
}

// forgetExpiredLoop runs forgetExpired every justCreatedTTL until ctx ends.
func (r *reconciler) forgetExpiredLoop(ctx context.Context) {
	t := time.NewTicker(justCreatedTTL)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.forgetExpired()
		}
	}
}

// recalled returns a copy of what we created under key, if the cache may
// still lag behind it.
func (r *reconciler) recalled(key string) (client.Object, bool) {
	v, ok := r.justCreated.Load(key)
	if !ok {
		return nil, false
	}
	c := v.(created)
	if r.now().Sub(c.at) > justCreatedTTL {
		r.justCreated.Delete(key)
		return nil, false
	}
	return c.obj.DeepCopyObject().(client.Object), true
}

func remoteKey(key types.NamespacedName) string { return "remote/" + key.String() }

func secretKey(key types.NamespacedName) string { return "secret/" + key.String() }

// lookupCached finds the remote claim in the cache, else among our fresh
// creates; a miss counts as absent, to be confirmed by a create-first push
// (errNameTaken sends the pass to lookupRemote). An orphaned remote claim
// carries no cluster-id label and is never cached: it is found that way too.
func (r *reconciler) lookupCached(ctx context.Context, local *unstructured.Unstructured) (*unstructured.Unstructured, conflict.Remote, error) {
	key := types.NamespacedName{Namespace: r.cfg.Namespace, Name: RemoteNameOf(r.cfg.ClusterID, local)}
	remote := r.newRemote()
	err := cacheGet(ctx, r.cl.remoteClient(), key, remote)
	switch {
	case err == nil:
		r.justCreated.Delete(remoteKey(key))
	case !apierrors.IsNotFound(err):
		return nil, 0, fmt.Errorf("read remote claim %s: %w", key, err)
	default:
		obj, ok := r.recalled(remoteKey(key))
		if !ok {
			return nil, conflict.RemoteAbsent, nil
		}
		remote = obj.(*unstructured.Unstructured)
	}
	return remote, r.classify(local, remote), nil
}

// classify says whose the remote claim is, from its origin marks.
func (r *reconciler) classify(local, remote *unstructured.Unstructured) conflict.Remote {
	want := r.origin(local)
	class := conflict.ClassifyRemote(true, remote.GetLabels(), remote.GetAnnotations(), want)
	return conflict.ClassifyImport(class, string(remote.GetUID()), remote.GetAnnotations(), want, local.GetAnnotations()[conflict.AnnotationImportedFrom])
}

// createRemote creates the remote claim. The create is an Update-operation
// entry of FieldManagerUp in its managedFields; upgradeOwnership hands it to
// the Apply entry before a push that would drop one of its fields.
func (r *reconciler) createRemote(ctx context.Context, want *unstructured.Unstructured) error {
	if err := r.cl.remoteClient().Create(ctx, want, client.FieldOwner(FieldManagerUp)); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create claim %s in control plane: %w: %w", klog.KObj(want), errNameTaken, err)
		}
		return fmt.Errorf("create claim %s in control plane: %w", klog.KObj(want), err)
	}
	r.rememberCreated(remoteKey(client.ObjectKeyFromObject(want)), asCached(want))
	return nil
}

// asCached is a copy of a remote claim as the cache holds one (packed, its
// managedFields trimmed): what is kept of a create until the cache has it,
// a fifth of the decoded copy.
func asCached(remote *unstructured.Unstructured) client.Object {
	if obj, err := TransformControlPlane(remote.DeepCopy()); err == nil {
		if c, ok := obj.(client.Object); ok {
			return c
		}
	}
	return remote.DeepCopy()
}

// upgradeOwnership moves the fields that our create (or an earlier merge
// patch of ours) owns by Update into FieldManagerUp's Apply entry, so that
// an apply that leaves one out removes it. It reads the remote claim live
// (the cache keeps only the spec part of managedFields) and is needed at
// most once per claim: afterwards there is no Update entry of ours. The
// patch carries the resourceVersion: a concurrent write makes it a lost race.
func (r *reconciler) upgradeOwnership(ctx context.Context, remote *unstructured.Unstructured) error {
	live := r.newRemote()
	if err := r.cl.Remote.GetAPIReader().Get(ctx, client.ObjectKeyFromObject(remote), live); err != nil {
		return fmt.Errorf("read remote claim %s: %w", klog.KObj(remote), err)
	}
	patch, err := csaupgrade.UpgradeManagedFieldsPatch(live, sets.New(FieldManagerUp), FieldManagerUp)
	if err != nil || patch == nil {
		return err
	}
	if err := r.cl.remoteClient().Patch(ctx, live, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return fmt.Errorf("hand fields of remote claim %s over to the apply of %s: %w", klog.KObj(remote), FieldManagerUp, err)
	}
	return nil
}
