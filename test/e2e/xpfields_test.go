package e2e

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// The tests of Crossplane's own writes into claims (#13 items 7 and 8). Each
// uses a Composition of its own for the example API, chosen by
// compositionRef, so that its revisions and patches touch no other test.

var (
	compositionGVK = schema.GroupVersionKind{Group: "apiextensions.crossplane.io", Version: "v1", Kind: "Composition"}
	revisionGVK    = schema.GroupVersionKind{Group: "apiextensions.crossplane.io", Version: "v1", Kind: "CompositionRevision"}
	xrGVK          = schema.GroupVersionKind{Group: harness.ExampleGroup, Version: harness.ExampleVersion, Kind: harness.ExampleXRKind}
)

// versionPath is the XR spec field the test Composition writes: a
// ToCompositeFieldPath patch copies the composed resource's value into it.
var versionPath = []string{"services", "operators", "prometheus", "version"}

// testComposition is a Composition of the example API with one nop
// resource; its ToCompositeFieldPath patch writes version into the XR's
// spec.services.operators.prometheus.version.
func testComposition(name, version string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"compositeTypeRef": map[string]any{"apiVersion": xrGVK.GroupVersion().String(), "kind": xrGVK.Kind},
		"mode":             "Resources",
		"resources": []any{map[string]any{
			"name": "cluster",
			"base": map[string]any{
				"apiVersion": "nop.crossplane.io/v1alpha1", "kind": "ClusterNopResource",
				"spec": map[string]any{"forProvider": map[string]any{
					"conditionAfter": []any{map[string]any{"time": "0s", "conditionType": "Ready", "conditionStatus": "True"}},
					"fields":         map[string]any{"version": version},
				}},
			},
			"patches": []any{map[string]any{
				"type": "ToCompositeFieldPath", "fromFieldPath": "spec.forProvider.fields.version",
				"toFieldPath": "spec.services.operators.prometheus.version",
			}},
		}},
	}}}
	u.SetGroupVersionKind(compositionGVK)
	u.SetName(name)
	return u
}

// createComposition creates a Composition (deleted at cleanup) and waits
// for its first revision.
func createComposition(t *testing.T, name, version string) {
	t.Helper()
	comp := testComposition(name, version)
	create(t, world.ControlPlane.Client, comp)
	t.Cleanup(func() { _ = world.ControlPlane.Client.Delete(context.Background(), comp) })
	waitRevision(t, name, 1)
}

// waitRevision waits for revision n of a Composition and returns its name.
func waitRevision(t *testing.T, composition string, n int64) string {
	t.Helper()
	var name string
	harness.Eventually(t, waitTimeout, func() error {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(revisionGVK)
		if err := world.ControlPlane.Client.List(context.Background(), list, client.MatchingLabels{"crossplane.io/composition-name": composition}); err != nil {
			return err
		}
		for _, r := range list.Items {
			if rev, _, _ := unstructured.NestedInt64(r.Object, "spec", "revision"); rev == n {
				name = r.GetName()
				return nil
			}
		}
		return fmt.Errorf("composition %s has no revision %d yet (%d revisions)", composition, n, len(list.Items))
	})
	return name
}

// xpClaim is an example claim of the rig that selects composition.
func xpClaim(r *faultRig, name, composition string, spec map[string]any) *unstructured.Unstructured {
	u := harness.NewExampleClaim(r.claims, name, 1)
	_ = unstructured.SetNestedField(u.Object, map[string]any{"name": composition}, "spec", "compositionRef")
	for k, v := range spec {
		_ = unstructured.SetNestedField(u.Object, v, "spec", k)
	}
	return u
}

// rigComposite returns the XR the remote claim of name is bound to.
func rigComposite(r *faultRig, name string) (*unstructured.Unstructured, error) {
	remote, err := r.remote(name)
	if err != nil {
		return nil, err
	}
	xrName, _, _ := unstructured.NestedString(remote.Object, "spec", "resourceRef", "name")
	if xrName == "" {
		return nil, errors.New("the remote claim is not bound to a composite yet")
	}
	xr := &unstructured.Unstructured{}
	xr.SetGroupVersionKind(xrGVK)
	return xr, world.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Name: xrName}, xr)
}

// claimSyncerCopies stands in for Crossplane's client-side claim syncer
// (crossplane core start --enable-ssa-claims=false), which merges the
// XR's spec into the claim's by an Update under the manager "crossplane",
// on every pass of the claim. v1.20's default server-side syncer (the
// harness runs it) copies only resourceRef, compositionRef and
// compositionRevisionRef. Like the real syncer, it copies the XR's value
// of versionPath, as the composition wrote it, again whenever the remote
// claim's value differs from it (for example because someone removed it),
// until ctx ends, and counts its writes.
func claimSyncerCopies(ctx context.Context, r *faultRig, name string, copies *atomic.Int64) {
	path := append([]string{"spec"}, versionPath...)
	_ = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(context.Context) (bool, error) {
		xr, err := rigComposite(r, name)
		if err != nil {
			return false, nil
		}
		v, ok, _ := unstructured.NestedString(xr.Object, path...)
		remote, err := r.remote(name)
		if !ok || err != nil {
			return false, nil
		}
		if got, has, _ := unstructured.NestedString(remote.Object, path...); has && got == v {
			return false, nil
		}
		_ = unstructured.SetNestedField(remote.Object, v, path...)
		if err := world.ControlPlane.Client.Update(ctx, remote, client.FieldOwner("crossplane")); err == nil {
			copies.Add(1)
		}
		return false, nil
	})
}

// A Composition that writes into the XR's spec, and Crossplane copying that
// field into the claim, do not start a fight: the claim converges, the field
// comes down to the local copy (the user did not set it), and then neither
// the connector nor Crossplane writes again over several resync passes.
func TestCrossplaneSpecWritesSettle(t *testing.T) {
	createComposition(t, "xpfields-writes", "v0.70.0")
	r := newFaultRig(t, "--resync-period=3s")
	c := r.start(t)
	r.waitMirrored(t)
	create(t, r.app.Client, xpClaim(r, "writes", "xpfields-writes", nil))
	r.waitLocal(t, "writes", readyAndSynced)

	// With the server-side claim syncer, the composition's value stays in the XR.
	harness.Eventually(t, waitTimeout, func() error {
		xr, err := rigComposite(r, "writes")
		if err != nil {
			return err
		}
		if v, _, _ := unstructured.NestedString(xr.Object, append([]string{"spec"}, versionPath...)...); v != "v0.70.0" {
			return fmt.Errorf("the XR's %v is %q, want the composition's v0.70.0", versionPath, v)
		}
		return nil
	})

	ctx, cancel := context.WithCancel(context.Background())
	var copies atomic.Int64
	done := make(chan struct{})
	go func() { defer close(done); claimSyncerCopies(ctx, r, "writes", &copies) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)

	// Crossplane's value is copied once and then left alone: over several
	// resync passes the connector removes nothing, so the syncer never has
	// to copy it again.
	harness.Eventually(t, waitTimeout, func() error {
		if n := copies.Load(); n < 1 {
			return errors.New("Crossplane's stand-in has not copied the XR's value into the remote claim yet")
		}
		return nil
	})
	for range 4 {
		if err := waitReconciles(t, c, 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := copies.Load(); n != 1 {
		t.Fatalf("a fight with Crossplane: it copied its value %d times over 4 passes (want 1: the connector removed it %d times)", n, n-1)
	}

	r.waitLocal(t, "writes", func(u *unstructured.Unstructured) error {
		if v, _, _ := unstructured.NestedString(u.Object, append([]string{"spec"}, versionPath...)...); v != "v0.70.0" {
			return fmt.Errorf("local %v is %q, want Crossplane's v0.70.0", versionPath, v)
		}
		return readyAndSynced(u)
	})
	// Coming down was the connector's last write: then, at rest, neither the
	// connector nor Crossplane writes again.
	var settled float64
	harness.Eventually(t, 2*time.Minute, func() error {
		settled = writes(t, c)
		if err := waitReconciles(t, c, 1); err != nil {
			return err
		}
		if w := writes(t, c); w != settled {
			return fmt.Errorf("the connector is still writing: %v -> %v", settled, w)
		}
		return nil
	})
	for range 3 {
		if err := waitReconciles(t, c, 1); err != nil {
			t.Fatal(err)
		}
	}
	w, n := writes(t, c), copies.Load()
	stop()
	if w != settled || n != 1 {
		t.Errorf("a fight at rest: connector writes %v -> %v, Crossplane's copies %d (want 1)", settled, w, n)
	}
	remote, err := r.remote("writes")
	if err != nil {
		t.Fatal(err)
	}
	if v, _, _ := unstructured.NestedString(remote.Object, append([]string{"spec"}, versionPath...)...); v != "v0.70.0" {
		t.Errorf("remote %v is %q, want Crossplane's v0.70.0 left alone", versionPath, v)
	}

	// An out-of-band edit beside Crossplane's value is still reverted, and
	// Crossplane's value stays.
	if err := world.ControlPlane.Client.Patch(context.Background(), remote, client.RawPatch(types.MergePatchType,
		[]byte(`{"spec":{"nodes":{"size":"large"}}}`)), client.FieldOwner("someone-else")); err != nil {
		t.Fatalf("change the remote spec out of band: %v", err)
	}
	r.waitRemote(t, "writes", func(u *unstructured.Unstructured) error {
		size, _, _ := unstructured.NestedString(u.Object, "spec", "nodes", "size")
		v, _, _ := unstructured.NestedString(u.Object, append([]string{"spec"}, versionPath...)...)
		if size != "small" || v != "v0.70.0" {
			return fmt.Errorf("remote nodes.size %q (want small, reverted), %v %q (want Crossplane's v0.70.0)", size, versionPath, v)
		}
		return nil
	})
}

// revisionRef reads spec.compositionRevisionRef.name.
func revisionRef(u *unstructured.Unstructured) string {
	v, _, _ := unstructured.NestedString(u.Object, "spec", "compositionRevisionRef", "name")
	return v
}

func wantRevision(want string) func(*unstructured.Unstructured) error {
	return func(u *unstructured.Unstructured) error {
		if got := revisionRef(u); got != want {
			c, _ := harness.GetCondition(u, condition.Type)
			return fmt.Errorf("compositionRevisionRef is %q, want %q (%s: %s %s)", got, want, condition.Type, c.Reason, c.Message)
		}
		return nil
	}
}

// waitXRRevision waits until the XR of the claim name uses revision want.
func waitXRRevision(t *testing.T, r *faultRig, name, want string) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		xr, err := rigComposite(r, name)
		if err != nil {
			return err
		}
		return wantRevision(want)(xr)
	})
}

// updateComposition sets the version the Composition's resource writes,
// which makes a new revision n, and returns that revision's name.
func updateComposition(t *testing.T, name, version string, n int64) string {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(compositionGVK)
		if err := world.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Name: name}, u); err != nil {
			return err
		}
		res, _, _ := unstructured.NestedSlice(u.Object, "spec", "resources")
		_ = unstructured.SetNestedField(res[0].(map[string]any), version, "base", "spec", "forProvider", "fields", "version")
		_ = unstructured.SetNestedSlice(u.Object, res, "spec", "resources")
		err := world.ControlPlane.Client.Update(context.Background(), u)
		if apierrors.IsConflict(err) {
			return err
		}
		if err != nil {
			t.Fatalf("update composition %s: %v", name, err)
		}
		return nil
	})
	return waitRevision(t, name, n)
}

// compositionRevisionRef follows compositionUpdatePolicy: under Manual the
// local pin goes up, the XR uses it (an older revision than the one
// Crossplane would pick) and a new revision does not move it; under
// Automatic Crossplane's revision comes down and moves with a Composition
// update.
func TestCompositionRevisionPin(t *testing.T) {
	const comp = "xpfields-revisions"
	createComposition(t, comp, "v1")
	rev1 := waitRevision(t, comp, 1)
	// rev2 is the newest before any claim exists: Crossplane would give it
	// to a claim without a pin, so a claim on rev1 is on rev1 only because
	// its pin went up.
	rev2 := updateComposition(t, comp, "v2", 2)
	r := newFaultRig(t, "--resync-period=3s")
	c := r.start(t)
	r.waitMirrored(t)
	create(t, r.app.Client, xpClaim(r, "auto", comp, map[string]any{"compositionUpdatePolicy": "Automatic"}))
	create(t, r.app.Client, xpClaim(r, "manual", comp, map[string]any{
		"compositionUpdatePolicy": "Manual", "compositionRevisionRef": map[string]any{"name": rev1}}))

	r.waitLocal(t, "auto", func(u *unstructured.Unstructured) error {
		if err := wantRevision(rev2)(u); err != nil {
			return fmt.Errorf("Automatic: Crossplane's newest revision comes down: %w", err)
		}
		return readyAndSynced(u)
	})
	r.waitLocal(t, "manual", readyAndSynced)
	r.waitRemote(t, "manual", wantRevision(rev1))
	waitXRRevision(t, r, "manual", rev1)

	// A Composition update: a third revision. Automatic moves to it.
	rev3 := updateComposition(t, comp, "v3", 3)
	r.waitLocal(t, "auto", wantRevision(rev3))
	waitXRRevision(t, r, "auto", rev3)

	// Manual stays pinned to the old rev1: the remote claim, the XR and the
	// local pin keep it over a few resync passes while Automatic moved.
	for i := range 3 {
		if err := waitReconciles(t, c, 2); err != nil {
			t.Fatal(err)
		}
		remote, err := r.remote("manual")
		if err != nil {
			t.Fatal(err)
		}
		xr, err := rigComposite(r, "manual")
		if err != nil {
			t.Fatal(err)
		}
		local, err := r.getLocal("manual")
		if err != nil {
			t.Fatal(err)
		}
		if revisionRef(remote) != rev1 || revisionRef(xr) != rev1 || revisionRef(local) != rev1 {
			t.Fatalf("pass %s: Manual moved: remote %q, XR %q, local %q, want the pin %q", strconv.Itoa(i),
				revisionRef(remote), revisionRef(xr), revisionRef(local), rev1)
		}
	}

	// Moving the pin locally moves the claim and the XR.
	patch := fmt.Sprintf(`{"spec":{"compositionRevisionRef":{"name":%q}}}`, rev2)
	if err := r.app.Client.Patch(context.Background(), r.claim("manual"), client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatal(err)
	}
	r.waitRemote(t, "manual", wantRevision(rev2))
	waitXRRevision(t, r, "manual", rev2)

	// Switching Automatic to Manual with a pin pins the composite. (The way
	// back, Manual to Automatic, is covered by the unit tests of
	// conflict.FieldPolicy.Released: run here, Crossplane v1.20 left the XR
	// on Manual and the claim without a revision once the pin was released.)
	if err := r.app.Client.Patch(context.Background(), r.claim("auto"), client.RawPatch("application/merge-patch+json",
		[]byte(fmt.Sprintf(`{"spec":{"compositionUpdatePolicy":"Manual","compositionRevisionRef":{"name":%q}}}`, rev1)))); err != nil {
		t.Fatal(err)
	}
	r.waitRemote(t, "auto", wantRevision(rev1))
	waitXRRevision(t, r, "auto", rev1)
}
