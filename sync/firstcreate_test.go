package sync

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

func TestDecideCreated(t *testing.T) {
	cases := map[string]struct {
		reason       string
		claim        claimNow
		crd          crdNow
		orphanPolicy bool
		want         createdAction
	}{
		"FinalizerLanded": {
			reason: "Our finalizer is on the claim: the remote claim is its own, nothing to undo.",
			claim:  claimHeld,
			want:   keepCreated,
		},
		"FinalizerLandedCRDGoing": {
			reason: "A claim held by our finalizer takes the normal delete path when its CRD goes.",
			claim:  claimHeld, crd: crdDeleting,
			want: keepCreated,
		},
		"StillThere": {
			reason: "The finalizer failed (a conflict, a permission error) but the claim is there: keep the remote claim, add the finalizer again.",
			claim:  claimWithout,
			want:   retryFinalizer,
		},
		"StillThereCRDGone": {
			reason: "A claim that is there is not deleted, whatever its CRD does.",
			claim:  claimWithout, crd: crdGone,
			want: retryFinalizer,
		},
		"UserDeleted": {
			reason: "The claim is gone and its CRD served: the user deleted it; the remote claim just created goes too.",
			claim:  claimGone,
			want:   deleteCreated,
		},
		"UserDeletedHeldByOtherFinalizer": {
			reason: "Being deleted without our finalizer (another one holds it): the user's delete, as a gone claim.",
			claim:  claimDeleting,
			want:   deleteCreated,
		},
		"UserDeletedOrphanPolicy": {
			reason: "The user deleted a claim that asks to be orphaned: the remote claim stays, orphaned.",
			claim:  claimGone, orphanPolicy: true,
			want: orphanCreated,
		},
		"CRDDeleting": {
			reason: "The claim went while its CRD is being deleted: the cascade's, not a user's; keep it for import.",
			claim:  claimGone, crd: crdDeleting,
			want: orphanForImport,
		},
		"CRDGone": {
			reason: "The claim went with its CRD: keep the remote claim for import.",
			claim:  claimGone, crd: crdGone,
			want: orphanForImport,
		},
		"CRDGoneOrphanPolicy": {
			reason: "A CRD deletion is never a user's delete: the remote claim is kept for import, as reconcileDelete does.",
			claim:  claimGone, crd: crdGone, orphanPolicy: true,
			want: orphanForImport,
		},
		"DeletingCRDDeleting": {
			reason: "Being deleted while its CRD is being deleted: keep it for import.",
			claim:  claimDeleting, crd: crdDeleting,
			want: orphanForImport,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := decideCreated(tc.claim, tc.crd, tc.orphanPolicy)
			if diff := cmp.Diff(tc.want.String(), got.String()); diff != "" {
				t.Errorf("%s\ndecideCreated(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestWithUID(t *testing.T) {
	got, err := withUID([]byte(`{"metadata":{"labels":{"a":null}}}`), "u-1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"metadata":{"labels":{"a":null},"uid":"u-1"}}`, string(got)); diff != "" {
		t.Errorf("withUID: -want, +got:\n%s", diff)
	}
}

// TestHeldRecord: the record of a remote claim we created outlives the
// landing of our finalizer by heldTTL (a DELETE that raced the PATCH can
// still remove the claim, kubernetes#77988), then goes; a pass that sees the
// claim deleting with our finalizer drops it at once; a remote claim created
// after the finalizer landed (finalizer-first order) is recorded as held.
func TestHeldRecord(t *testing.T) {
	now := time.Unix(1000, 0)
	r := &reconciler{now: func() time.Time { return now }}
	claim := func(name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetNamespace("claims")
		u.SetName(name)
		u.SetUID(types.UID("uid-" + name))
		return u
	}
	remote := func(name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetNamespace("cp")
		u.SetName(name + "-x")
		u.SetUID(types.UID("remote-" + name))
		return u
	}
	record := func(name string) (unconfirmedCreate, bool) {
		v, ok := r.unconfirmed.Load(types.NamespacedName{Namespace: "claims", Name: name})
		if !ok {
			return unconfirmedCreate{}, false
		}
		return v.(unconfirmedCreate), true
	}
	key := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: "claims", Name: name} }

	// a: created beside the finalizer, which landed after the create.
	r.rememberUnconfirmed(claim("a"), remote("a"))
	r.heldUnconfirmed(key("a"))
	// b: created beside the finalizer, whose answer came before the create was remembered.
	r.heldUnconfirmed(key("b"))
	r.rememberUnconfirmed(claim("b"), remote("b"))
	if u, _ := record("b"); !u.heldAt.IsZero() {
		t.Fatalf("b: held before its create was remembered")
	}
	r.heldUnconfirmed(key("b")) // createBesideFinalizer, once both answered
	// c: finalizer first, then the create.
	r.heldUnconfirmed(key("c"))
	r.createdAfterLanding(claim("c"), remote("c"))
	// d: seen deleting with our finalizer.
	r.rememberUnconfirmed(claim("d"), remote("d"))
	r.heldUnconfirmed(key("d"))
	r.forgetHeld(key("d"))

	for _, n := range []string{"a", "b", "c"} {
		u, ok := record(n)
		if !ok || u.heldAt.IsZero() || u.remoteUID != types.UID("remote-"+n) {
			t.Errorf("%s: record %+v (kept %v), want held for remote-%s", n, u, ok, n)
		}
	}
	if _, ok := record("d"); ok {
		t.Errorf("d: record kept after the delete path took over")
	}
	now = now.Add(heldTTL / 2)
	r.forgetExpired()
	if _, ok := record("a"); !ok {
		t.Errorf("a: record dropped before heldTTL")
	}
	now = now.Add(heldTTL/2 + time.Second)
	r.createdAfterLanding(claim("e"), remote("e")) // no landing recorded: nothing to remember
	r.forgetExpired()
	var left []string
	r.unconfirmed.Range(func(k, _ any) bool { left = append(left, k.(types.NamespacedName).Name); return true })
	r.finalizerLanded.Range(func(k, _ any) bool { left = append(left, "landed "+k.(types.NamespacedName).Name); return true })
	if len(left) != 0 {
		t.Errorf("records left after heldTTL: %v", left)
	}
}
