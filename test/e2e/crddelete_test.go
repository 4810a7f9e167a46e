package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// Deleting the mirrored CRD in the app cluster (kubectl delete crd, a GitOps
// prune) makes the API server delete every claim of the kind. Those deletes
// are not a user's: the remote claims stay, with the same uid, and once the
// API is mirrored again the claims come back as local copies of them.
func TestLocalCRDDeletedKeepsRemoteClaims(t *testing.T) {
	sharedConnector(t)
	ctx := context.Background()
	group := "crddelete.e2e.starter.org"
	crdName := "widgets." + group
	widgetAPI(t, group)
	w := newWidget(t, group)
	remote := waitRemote(t, w, func(*unstructured.Unstructured) error { return nil })
	before := waitLocal(t, w, func(u *unstructured.Unstructured) error {
		if !controllerutilContains(u.GetFinalizers(), conflict.Finalizer) {
			return fmt.Errorf("no finalizer yet")
		}
		return nil
	})

	if err := world.App.Client.Delete(ctx, &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: crdName}}); err != nil {
		t.Fatal(err)
	}
	// The claim comes back: a new local object (new uid) bound to the same
	// remote claim, which carries this cluster's marks again.
	harness.Eventually(t, 2*waitTimeout, func() error {
		got := w.DeepCopy()
		if err := world.App.Client.Get(ctx, client.ObjectKeyFromObject(w), got); err != nil {
			return fmt.Errorf("local claim not back yet: %w", err)
		}
		if got.GetUID() == before.GetUID() {
			return fmt.Errorf("the local claim was not deleted yet")
		}
		r, err := remoteOf(ctx, w)
		if err != nil {
			return fmt.Errorf("remote claim: %w", err)
		}
		if r.GetUID() != remote.GetUID() || !r.GetDeletionTimestamp().IsZero() {
			return fmt.Errorf("the remote claim was deleted or replaced: uid %s -> %s, deleting %v", remote.GetUID(), r.GetUID(), r.GetDeletionTimestamp())
		}
		if r.GetLabels()[conflict.LabelClusterID] != sharedClusterID {
			return fmt.Errorf("the remote claim is not imported yet (labels %v, annotations %v)", r.GetLabels(), r.GetAnnotations())
		}
		return nil
	})
	waitEvent(t, before, "OrphanedByCRDDeletion")
}

// A claim its user deleted while the control plane was away is the user's
// delete even if its CRD is deleted afterwards: once the control plane is
// back its remote claim is deleted, and it is not imported back. A claim the
// CRD deletion took keeps its remote claim, which comes back with its uid.
func TestUserDeleteBeforeCRDDeletionIsKept(t *testing.T) {
	r := newFaultRig(t)
	r.drainOnCleanup(t)
	r.start(t)
	r.waitMirrored(t)
	r.create(t, "user-deleted", 1)
	r.create(t, "crd-deleted", 2)
	r.waitLocal(t, "user-deleted", readyAndSynced)
	r.waitLocal(t, "crd-deleted", readyAndSynced)
	remoteA := r.waitRemote(t, "user-deleted", func(*unstructured.Unstructured) error { return nil })
	remoteB := r.waitRemote(t, "crd-deleted", func(*unstructured.Unstructured) error { return nil })
	localB, err := r.getLocal("crd-deleted")
	if err != nil {
		t.Fatal(err)
	}

	r.proxy.Cut()
	r.waitReachable(t, false)
	r.delete(t, "user-deleted")
	a := r.waitLocal(t, "user-deleted", heldForDeletion)
	// Deletions are stamped to the second, and one in the CRD's second counts
	// as the CRD's: delete the CRD in a later second than the user's delete.
	harness.Eventually(t, waitTimeout, func() error {
		if now := time.Now().Truncate(time.Second); !now.After(a.GetDeletionTimestamp().Time) {
			return fmt.Errorf("still in the second of the user's delete (%s)", a.GetDeletionTimestamp())
		}
		return nil
	})
	if err := r.app.Client.Delete(context.Background(), &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: harness.ExampleClaimCRDName}}); err != nil {
		t.Fatal(err)
	}
	r.waitLocal(t, "crd-deleted", heldForDeletion)
	r.proxy.Restore()

	// The CRD deletion's claim comes back as a new local object bound to
	// its remote claim, with the same uid.
	harness.Eventually(t, 2*waitTimeout, func() error {
		b, err := r.getLocal("crd-deleted")
		if err != nil || b.GetUID() == localB.GetUID() {
			return fmt.Errorf("crd-deleted not imported back yet (%v)", err)
		}
		rem, err := r.remote("crd-deleted")
		if err != nil {
			return err
		}
		if rem.GetUID() != remoteB.GetUID() || rem.GetLabels()[conflict.LabelClusterID] != r.clusterID {
			return fmt.Errorf("the remote claim of crd-deleted was replaced or is not imported: uid %s (was %s), labels %v", rem.GetUID(), remoteB.GetUID(), rem.GetLabels())
		}
		return nil
	})
	// The user's delete holds: the remote claim is deleted and the local
	// claim does not come back.
	harness.Eventually(t, waitTimeout, func() error {
		rem, err := r.remote("user-deleted")
		if err == nil {
			return fmt.Errorf("the remote claim of user-deleted is still there (uid %s, was %s; labels %v, annotations %v)",
				rem.GetUID(), remoteA.GetUID(), rem.GetLabels(), rem.GetAnnotations())
		}
		return client.IgnoreNotFound(err)
	})
	if _, err := r.getLocal("user-deleted"); !apierrors.IsNotFound(err) {
		t.Errorf("user-deleted is back in the app cluster after its user deleted it (%v)", err)
	}
	if d := r.audit.unwantedDeletions(); len(d) > 0 {
		t.Errorf("remote claims deleted that no user deleted: %v", d)
	}
}

// heldWindow is how long a claim the CRD deletion takes while the control
// plane is away is watched to keep its finalizer.
const heldWindow = 5 * time.Second

// A claim with the deletion policy Orphan that goes with its CRD while the
// control plane is away is not let go as a pending orphan (which is never
// imported back): it waits like every claim of the kind, and once the control
// plane answers it comes back bound to the same remote claim.
func TestOrphanPolicyClaimGoingWithCRDComesBack(t *testing.T) {
	r := newFaultRig(t)
	r.drainOnCleanup(t)
	r.start(t)
	r.waitMirrored(t)
	const name = "orphan-policy"
	o := harness.NewExampleClaim(r.claims, name, 1)
	o.SetAnnotations(map[string]string{conflict.AnnotationDeletionPolicy: conflict.DeletionPolicyOrphan})
	create(t, r.app.Client, o)
	before := r.waitLocal(t, name, readyAndSynced)
	remote := r.waitRemote(t, name, func(*unstructured.Unstructured) error { return nil })

	r.proxy.Cut()
	r.waitReachable(t, false)
	r.waitLocal(t, name, unreachable)
	if err := r.app.Client.Delete(context.Background(), &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: harness.ExampleClaimCRDName}}); err != nil {
		t.Fatal(err)
	}
	checkHeld(t, r, name)
	waitPendingEntry(t, r, name, false)
	r.proxy.Restore()

	harness.Eventually(t, 2*waitTimeout, func() error {
		got, err := r.getLocal(name)
		if err != nil || got.GetUID() == before.GetUID() {
			return fmt.Errorf("%s not imported back yet (%v)", name, err)
		}
		rem, err := r.remote(name)
		if err != nil {
			return err
		}
		if rem.GetUID() != remote.GetUID() || !rem.GetDeletionTimestamp().IsZero() || rem.GetLabels()[conflict.LabelClusterID] != r.clusterID {
			return fmt.Errorf("the remote claim of %s was replaced, is being deleted or is not imported: uid %s (was %s), deleting %v, labels %v, annotations %v",
				name, rem.GetUID(), remote.GetUID(), rem.GetDeletionTimestamp(), rem.GetLabels(), rem.GetAnnotations())
		}
		return nil
	})
	waitPendingEntry(t, r, name, false)
	if d := r.audit.unwantedDeletions(); len(d) > 0 {
		t.Errorf("remote claims deleted that no user deleted: %v", d)
	}
}

// checkHeld waits until the local claim name is held for deletion, then
// watches it for heldWindow: that it keeps its finalizer while the control
// plane is away is the behaviour under test, so this wait is a window, not a
// wait for a condition. A claim let go fails the test at once.
func checkHeld(t *testing.T, r *faultRig, name string) {
	t.Helper()
	errGone := errors.New("let go")
	get := func() (*unstructured.Unstructured, error) {
		u, err := r.getLocal(name)
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return nil, fmt.Errorf("%w: %s is gone while the control plane is away (%v)", errGone, name, err)
		}
		return u, err
	}
	harness.Eventually(t, waitTimeout, func() error {
		u, err := get()
		if errors.Is(err, errGone) {
			t.Fatalf("the claim that went with its CRD did not wait for the control plane: %v", err)
		}
		if err != nil {
			return err
		}
		return heldForDeletion(u)
	})
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, heldWindow, true, func(context.Context) (bool, error) {
		u, err := get()
		if err == nil {
			if err = hasFinalizer(u); err != nil {
				err = fmt.Errorf("%w: %v", errGone, err)
			}
		}
		if errors.Is(err, errGone) {
			return false, err
		}
		return false, nil
	})
	if errors.Is(err, errGone) {
		t.Fatalf("the claim that went with its CRD did not wait for the control plane: %v", err)
	}
}
