package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// opTimeout bounds one API call of the schedule.
const opTimeout = 10 * time.Second

// runner executes the schedule against the world and keeps the model.
type runner struct {
	rng   *rand.Rand
	model *model
	audit *audit
	rig   *rig
	cfg   config
	rep   *report
	// log is the sequence of what was done, for the report of a violation.
	log []string
}

func (r *runner) local(ns string) dynamic.ResourceInterface {
	return world.App.Dynamic.Resource(harness.ExampleClaimGVR()).Namespace(ns)
}

func (r *runner) remote() dynamic.ResourceInterface {
	return world.ControlPlane.Dynamic.Resource(harness.ExampleClaimGVR()).Namespace(r.rig.namespace)
}

func (r *runner) remoteName(c *claim) string { return sync.RemoteName(r.rig.clusterID, c.ns, c.name) }

func (r *runner) count() int64 { return int64(1 + r.rng.IntN(9)) }

// op runs one claim operation; it returns what it did, or an error when the
// API refused or failed (the operation then counts as rejected, and the
// model keeps what is known to have happened).
func (r *runner) op(kind string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	switch kind {
	case opCreate:
		return r.create(ctx)
	case opUpdate:
		return r.update(ctx)
	case opDelete:
		return r.delete(ctx, false)
	case opOrphanDelete:
		return r.delete(ctx, true)
	case opCRDDelete:
		return r.deleteCRD(ctx)
	case opRemoteEdit:
		return r.remoteEdit(ctx)
	case opRemoteDelete:
		return r.remoteDelete(ctx)
	}
	return "", fmt.Errorf("unknown operation %q", kind)
}

func (r *runner) create(ctx context.Context) (string, error) {
	if r.model.count(live) >= r.cfg.maxClaims {
		return r.update(ctx)
	}
	c := &claim{ns: appNamespaces[r.rng.IntN(len(appNamespaces))], name: r.model.newName()}
	n := r.count()
	got, err := r.local(c.ns).Create(ctx, harness.NewExampleClaim(c.ns, c.name, n), metav1.CreateOptions{})
	if err != nil {
		// A failed create may have been stored: if it is there, it is live.
		if got, gerr := r.local(c.ns).Get(ctx, c.name, metav1.GetOptions{}); gerr == nil {
			c.wrote(specCount(got), got.GetUID())
			r.model.claims[c.key()] = c
		} else if !apierrors.IsNotFound(gerr) {
			c.written, c.state = []int64{n}, maybe
			r.model.claims[c.key()] = c
		}
		return "create " + c.key(), err
	}
	c.wrote(n, got.GetUID())
	r.model.claims[c.key()] = c
	return fmt.Sprintf("create %s count %d", c.key(), c.count), nil
}

func (r *runner) update(ctx context.Context) (string, error) {
	c := r.model.pick(r.rng.IntN, live, maybe)
	if c == nil {
		return r.create(ctx)
	}
	n := r.count()
	patch := fmt.Sprintf(`{"spec":{"nodes":{"count":%d}}}`, n)
	got, err := r.local(c.ns).Patch(ctx, c.name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		// The patch may have been stored: read what is there.
		if g, gerr := r.local(c.ns).Get(ctx, c.name, metav1.GetOptions{}); gerr == nil {
			got, n = g, specCount(g)
		}
	}
	switch {
	case got == nil || got.GetName() == "":
		// A claim the CRD deletion took that is not imported (yet).
	case got.GetDeletionTimestamp() != nil || (c.state == maybe && got.GetUID() == c.goneUID):
		// A claim being deleted (by the schedule or by the CRD deletion)
		// takes a patch, and goes anyway: the write changes nothing known.
		c.written = append(c.written, n)
	default:
		c.wrote(n, got.GetUID())
	}
	return fmt.Sprintf("update %s count %d", c.key(), n), err
}

func (r *runner) delete(ctx context.Context, orphan bool) (string, error) {
	c := r.model.pick(r.rng.IntN, live, maybe)
	if c == nil {
		return r.create(ctx)
	}
	what := "delete " + c.key()
	// The object a CRD deletion takes anyway: deleting it decides nothing.
	taken := false
	if c.state == maybe {
		got, err := r.local(c.ns).Get(ctx, c.name, metav1.GetOptions{})
		taken = err == nil && got.GetUID() == c.goneUID
	}
	if orphan {
		what = "delete (Orphan) " + c.key()
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, conflict.AnnotationDeletionPolicy, conflict.DeletionPolicyOrphan)
		got, err := r.local(c.ns).Patch(ctx, c.name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		if err != nil {
			return what, err
		}
		c.orphanUID = got.GetUID()
	} else {
		r.audit.setUserDeleted(c.key(), true)
	}
	err := r.local(c.ns).Delete(ctx, c.name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		got, gerr := r.local(c.ns).Get(ctx, c.name, metav1.GetOptions{})
		if gerr == nil && got.GetDeletionTimestamp() == nil {
			return what, err // not deleted: the claim stays as it was
		}
	}
	switch {
	case taken:
		c.userDeleted = c.userDeleted || !orphan
	case apierrors.IsNotFound(err) && c.state == maybe:
		// Taken by a CRD deletion and not imported (yet): nothing was deleted.
		r.audit.setUserDeleted(c.key(), c.userDeleted)
	case orphan:
		c.state = orphaning
	default:
		c.state, c.userDeleted = deleting, true
	}
	return what, err
}

// deleteCRD deletes the mirrored CRD in the app cluster, as a GitOps prune
// would: the API server deletes every claim of the kind; the remote claims
// stay and come back as imported local claims. Every claim of the model
// becomes maybe.
func (r *runner) deleteCRD(ctx context.Context) (string, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := world.App.Client.Get(ctx, client.ObjectKey{Name: harness.ExampleClaimCRDName}, crd); err != nil {
		return "delete CRD", err
	}
	// The claims there now are those the deletion takes (a claim gone
	// before keeps its state); one that goes meanwhile is maybe too, which
	// accepts both.
	present := map[string]*unstructured.Unstructured{}
	for _, ns := range appNamespaces {
		list, err := r.local(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return "delete CRD", err
		}
		for i := range list.Items {
			present[ns+"/"+list.Items[i].GetName()] = &list.Items[i]
		}
	}
	r.audit.deletesCRD(crd.UID)
	uid := crd.UID
	what := "delete CRD " + crd.Name + " uid " + string(uid)
	if err := world.App.Client.Delete(ctx, crd, client.Preconditions{UID: &uid}); err != nil {
		return what, err
	}
	// The connector tells a user's delete from the CRD deletion's by their
	// deletion timestamps: read the CRD's (it waits for its claims'
	// finalizers). Gone already: nothing to compare, every claim is maybe.
	var since *metav1.Time
	gone := false
	if err := world.App.Client.Get(ctx, client.ObjectKey{Name: crd.Name}, crd); apierrors.IsNotFound(err) {
		gone = true
	} else if err != nil {
		return what, fmt.Errorf("read the CRD's deletion timestamp: %w", err)
	} else {
		since, gone = crd.GetDeletionTimestamp(), crd.UID != uid
	}
	kept := 0
	for key, c := range r.model.claims {
		l, ok := present[key]
		if !ok {
			continue
		}
		if (c.state == deleting || c.state == orphaning) && !userDeleteTakenByCRD(l.GetDeletionTimestamp(), since, gone) {
			kept++ // deleted by its user before the CRD: the user's delete path
			continue
		}
		c.state, c.goneUID = maybe, l.GetUID()
	}
	return fmt.Sprintf("%s (deletion at %s; %d claims deleted before it keep their delete)", what, since, kept), nil
}

// userDeleteTakenByCRD is the connector's rule (sync.deletedByCRD), seen
// from the schedule: a claim whose deletion began in an earlier second than
// the CRD's takes its user's delete path; at or after it, or with no time
// to compare, the CRD deletion's.
func userDeleteTakenByCRD(claimDeleted, crdDeleted *metav1.Time, crdGone bool) bool {
	switch {
	case crdGone || claimDeleted == nil || crdDeleted == nil:
		return true
	}
	return !claimDeleted.Truncate(time.Second).Before(crdDeleted.Truncate(time.Second))
}

func (r *runner) remoteEdit(ctx context.Context) (string, error) {
	c := r.model.pick(r.rng.IntN, live)
	if c == nil {
		return r.create(ctx)
	}
	n := c.count%9 + 1 // never the local value
	patch := fmt.Sprintf(`{"spec":{"nodes":{"count":%d}}}`, n)
	_, err := r.remote().Patch(ctx, r.remoteName(c), types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	// A CRD deletion before the connector reverts the edit imports it back.
	c.written = append(c.written, n)
	return fmt.Sprintf("edit remote of %s count %d", c.key(), n), err
}

func (r *runner) remoteDelete(ctx context.Context) (string, error) {
	c := r.model.pick(r.rng.IntN, live)
	if c == nil {
		return r.create(ctx)
	}
	what := "delete remote of " + c.key()
	got, err := r.remote().Get(ctx, r.remoteName(c), metav1.GetOptions{})
	if err != nil {
		return what, err
	}
	uid := got.GetUID()
	r.audit.deletesRemote(uid)
	return what + " uid " + string(uid), r.remote().Delete(ctx, got.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
}

func specCount(u *unstructured.Unstructured) int64 {
	n, _, _ := unstructured.NestedInt64(u.Object, "spec", "nodes", "count")
	return n
}

// observe adopts the claims that came back after a CRD deletion: a local
// object of a maybe claim that is not the one the deletion took, and is not
// being deleted, is the import of its remote claim. It must carry a count
// written for it; from then on it is live with that count.
func (r *runner) observe(ctx context.Context) error {
	for _, ns := range appNamespaces {
		list, err := r.local(ns).List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) {
			return nil // the CRD is not back yet
		}
		if err != nil {
			return err
		}
		for i := range list.Items {
			l := &list.Items[i]
			c := r.model.claims[ns+"/"+l.GetName()]
			if c == nil || c.state != maybe || l.GetUID() == c.goneUID || l.GetDeletionTimestamp() != nil {
				continue
			}
			n := specCount(l)
			if !slices.Contains(c.written, n) {
				r.rep.inv[invOneRemote].add("claim %s imported back with count %d, never written (written: %v)", c.key(), n, c.written)
			}
			c.count, c.state, c.uid = n, live, l.GetUID()
			r.logf(-1, "observed %s imported back (uid %s) with count %d", c.key(), l.GetUID(), n)
		}
	}
	return nil
}
