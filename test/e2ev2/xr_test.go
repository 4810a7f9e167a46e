package e2ev2

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/sync/orphan"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// A namespaced XR of Crossplane v2 takes the claim's path: its API is
// mirrored (the cluster-scoped one refused), an XR created locally goes up
// under its mapped name, the function composes it Ready, status and
// Crossplane's spec.crossplane fields come down and are not pushed back, the
// composed Secret is copied next to the local XR, nothing is written at rest,
// a foreign Secret is never overwritten, and deleting the XR deletes it in
// the control plane.
func TestXRRoundTrip(t *testing.T) {
	world.LogOnFailure(t)
	ctx := context.Background()
	r := newXRRig(t, "--resync-period=3s")
	c := r.start(t)

	r.waitAPI(t, harness.V2XRDName, connection.StateMirrored, "")
	r.waitAPI(t, harness.V2ClusterXRDName, connection.StateRefused, "scope Cluster")
	if err := r.app.Client.Get(ctx, client.ObjectKey{Name: harness.V2ClusterXRDName}, &apiextensionsv1.CustomResourceDefinition{}); !apierrors.IsNotFound(err) {
		t.Errorf("the cluster-scoped XR's CRD is in the app cluster (get: %v)", err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := r.app.Client.Get(ctx, client.ObjectKey{Name: harness.V2XRDName}, crd); err != nil {
		t.Fatal(err)
	}
	if crd.Spec.Scope != apiextensionsv1.NamespaceScoped || len(crd.Spec.Versions[0].AdditionalPrinterColumns) == 0 ||
		crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["crossplane"].Type != "object" {
		t.Errorf("mirrored XR CRD lacks scope, printer columns or spec.crossplane: %+v", crd.Spec)
	}

	start := time.Now()
	if err := r.app.Client.Create(ctx, harness.NewV2XR(r.local, "orders", 3)); err != nil {
		t.Fatal(err)
	}
	local := r.waitLocal(t, "orders", func(u *unstructured.Unstructured) error {
		if err := syncedAndReady(u); err != nil {
			return err
		}
		if got, _, _ := unstructured.NestedInt64(u.Object, "status", "storageGB"); got != 3 {
			return fmt.Errorf("status.storageGB = %d, want 3", got)
		}
		if got, _, _ := unstructured.NestedString(u.Object, "spec", "crossplane", "compositionRef", "name"); got != harness.V2CompositionName {
			return fmt.Errorf("spec.crossplane.compositionRef did not come down: %q", got)
		}
		if refs, _, _ := unstructured.NestedSlice(u.Object, "spec", "crossplane", "resourceRefs"); len(refs) < 2 {
			return fmt.Errorf("spec.crossplane.resourceRefs did not come down: %v", refs)
		}
		return nil
	})
	t.Logf("local XR Ready with status and spec.crossplane down after %s", time.Since(start).Round(time.Millisecond))
	if !slicesContain(local.GetFinalizers(), conflict.Finalizer) {
		t.Errorf("local XR has no finalizer: %v", local.GetFinalizers())
	}
	remote, err := r.remote("orders")
	if err != nil {
		t.Fatal(err)
	}
	if got := remote.GetLabels()[conflict.LabelClusterID]; got != r.clusterID {
		t.Errorf("remote XR's cluster-id label = %q, want %q", got, r.clusterID)
	}
	for _, f := range []string{"resourceRefs", "compositionRef", "compositionRevisionRef"} {
		if pushedBy(remote, sync.FieldManagerUp, "crossplane", f) {
			t.Errorf("spec.crossplane.%s was pushed back to the control plane (owned by %s)", f, sync.FieldManagerUp)
		}
	}

	secretName := r.secretName("orders")
	secret := &corev1.Secret{}
	harness.Eventually(t, waitTimeout, func() error {
		return r.app.Client.Get(ctx, client.ObjectKey{Namespace: r.local, Name: secretName}, secret)
	})
	if got := string(secret.Data["password"]); got != harness.V2Password {
		t.Errorf("copied Secret %s: password = %q, want %q", secretName, got, harness.V2Password)
	}
	if owner := metav1.GetControllerOf(secret); owner == nil || owner.UID != local.GetUID() || secret.Labels[conflict.LabelManaged] != "true" {
		t.Errorf("copied Secret is not ours or not owned by the local XR: labels %v owner %v", secret.Labels, owner)
	}
	list := &corev1.SecretList{}
	if err := r.app.Client.List(ctx, list, client.InNamespace(r.local)); err != nil {
		t.Fatal(err)
	}
	// The Opaque one too, which the control-plane cache (Crossplane's
	// connection type only) does not hold.
	extra := &corev1.Secret{}
	extraName := sync.XRSecretName(harness.V2Group, harness.V2XRKind, "orders", r.remoteName("orders")+"-extra")
	harness.Eventually(t, waitTimeout, func() error {
		return r.app.Client.Get(ctx, client.ObjectKey{Namespace: r.local, Name: extraName}, extra)
	})
	if got := string(extra.Data["token"]); got != "db-token" {
		t.Errorf("copied Opaque Secret %s: token = %q, want db-token", extraName, got)
	}
	if err := r.app.Client.List(ctx, list, client.InNamespace(r.local)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		t.Errorf("want exactly the two composed Secrets copied, got %d Secrets in %s", len(list.Items), r.local)
	}

	checkNoWritesAtRest(t, r, c, 1)
	checkForeignSecretKept(t, r)

	if err := r.app.Client.Delete(ctx, r.xr("orders")); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, waitTimeout, func() error {
		if _, err := r.remote("orders"); !apierrors.IsNotFound(err) {
			return fmt.Errorf("remote XR still there (%v)", err)
		}
		if err := r.app.Client.Get(ctx, client.ObjectKeyFromObject(r.xr("orders")), r.xr("orders")); !apierrors.IsNotFound(err) {
			return fmt.Errorf("local XR still there (%v)", err)
		}
		return nil
	})
}

// checkNoWritesAtRest: with n XRs in sync, three resync passes write nothing.
// At rest includes the Connection: it recounts the claims up to
// connection.ClaimsCoalesce after the XR's last change (one status write),
// which may fall after the writes have looked steady for one reconcile, so
// the Connection must count the n XRs in sync first.
func checkNoWritesAtRest(t *testing.T, r *xrRig, c *harness.Connector, n int) {
	t.Helper()
	r.waitInSync(t, n)
	var before float64
	harness.Eventually(t, 2*time.Minute, func() error {
		before = writes(t, c)
		if err := waitReconciles(t, c, n); err != nil {
			return err
		}
		if w := writes(t, c); w != before {
			return fmt.Errorf("still writing: %v -> %v", before, w)
		}
		return nil
	})
	for range 3 {
		if err := waitReconciles(t, c, n); err != nil {
			t.Fatal(err)
		}
	}
	if w := writes(t, c); w != before {
		t.Errorf("the connector wrote at rest: %v write requests before, %v after", before, w)
	}
}

// checkForeignSecretKept: a Secret of the copy's name that is not the
// connector's is never overwritten; the XR says SecretConflict.
func checkForeignSecretKept(t *testing.T, r *xrRig) {
	t.Helper()
	ctx := context.Background()
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: r.local, Name: r.secretName("users")},
		Data: map[string][]byte{"mine": []byte("keep")}}
	if err := r.app.Client.Create(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	if err := r.app.Client.Create(ctx, harness.NewV2XR(r.local, "users", 1)); err != nil {
		t.Fatal(err)
	}
	r.waitLocal(t, "users", reason(condition.Type, condition.ReasonSecretConflict))
	got := &corev1.Secret{}
	if err := r.app.Client.Get(ctx, client.ObjectKeyFromObject(foreign), got); err != nil {
		t.Fatal(err)
	}
	if string(got.Data["mine"]) != "keep" || len(got.Data) != 1 || got.Labels[conflict.LabelManaged] != "" {
		t.Errorf("the foreign Secret was changed: labels %v data keys %d", got.Labels, len(got.Data))
	}
	if err := r.app.Client.Delete(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	r.waitLocal(t, "users", syncedAndReady)
}

// pushedBy says whether manager owns spec.<path> (or something inside it) on obj.
func pushedBy(obj *unstructured.Unstructured, manager string, path ...string) bool {
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager != manager || mf.Subresource != "" || mf.FieldsV1 == nil {
			continue
		}
		var m map[string]any
		if json.Unmarshal(mf.FieldsV1.Raw, &m) != nil {
			continue
		}
		node, _ := m["f:spec"].(map[string]any)
		for _, p := range path {
			node, _ = node["f:"+p].(map[string]any)
		}
		if node != nil {
			return true
		}
	}
	return false
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// An XR with the Orphan deletion policy is kept in the control plane when
// deleted locally; one orphaned by an uninstall comes back on the next
// start (same remote uid), with its composed Secret copied again; a pin of
// the composition revision under Manual goes up.
func TestXROrphanAndImport(t *testing.T) {
	world.LogOnFailure(t)
	ctx := context.Background()
	r := newXRRig(t)
	c := r.start(t)

	kept := harness.NewV2XR(r.local, "kept", 2)
	kept.SetAnnotations(map[string]string{"mcp-connector.io/deletion-policy": "Orphan"})
	moved := harness.NewV2XR(r.local, "moved", 4)
	for _, x := range []*unstructured.Unstructured{kept, moved} {
		if err := r.app.Client.Create(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	r.waitLocal(t, "kept", syncedAndReady)
	r.waitLocal(t, "moved", syncedAndReady)
	if err := r.app.Client.Delete(ctx, r.xr("kept")); err != nil {
		t.Fatal(err)
	}
	r.waitRemote(t, "kept", func(u *unstructured.Unstructured) error {
		if u.GetAnnotations()[conflict.AnnotationOrphaned] == "" || u.GetLabels()[conflict.LabelClusterID] != "" {
			return fmt.Errorf("remote XR not marked orphaned: labels %v annotations %v", u.GetLabels(), u.GetAnnotations())
		}
		return nil
	})

	// Pin the revision Crossplane chose (Manual): the pin goes up.
	rev := r.waitRemote(t, "moved", func(u *unstructured.Unstructured) error {
		if n, _, _ := unstructured.NestedString(u.Object, "spec", "crossplane", "compositionRevisionRef", "name"); n == "" {
			return fmt.Errorf("no compositionRevisionRef yet")
		}
		return nil
	})
	pin, _, _ := unstructured.NestedString(rev.Object, "spec", "crossplane", "compositionRevisionRef", "name")
	// By server-side apply, as `kubectl apply --server-side --force-conflicts`
	// would: the user takes the values that came down, so they are theirs to push.
	pinned := r.xr("moved")
	pinned.Object["spec"] = map[string]any{"crossplane": map[string]any{
		"compositionUpdatePolicy": "Manual", "compositionRevisionRef": map[string]any{"name": pin}}}
	if err := r.app.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(pinned), client.FieldOwner("e2e-user"), client.ForceOwnership); err != nil {
		t.Fatal(err)
	}
	before := r.waitRemote(t, "moved", func(u *unstructured.Unstructured) error {
		if p, _, _ := unstructured.NestedString(u.Object, "spec", "crossplane", "compositionUpdatePolicy"); p != "Manual" {
			return fmt.Errorf("compositionUpdatePolicy = %q remotely, want Manual", p)
		}
		if !pushedBy(u, sync.FieldManagerUp, "crossplane", "compositionRevisionRef") {
			return fmt.Errorf("the Manual pin was not pushed")
		}
		return nil
	})

	// Uninstall: stop, orphan with the uninstall's patch, clean the app cluster.
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	body, err := orphan.OrphanPatch("")
	if err != nil {
		t.Fatal(err)
	}
	if err := world.ControlPlane.Client.Patch(ctx, before, client.RawPatch(types.MergePatchType, body)); err != nil {
		t.Fatal(err)
	}
	local := r.xr("moved")
	if err := r.app.Client.Patch(ctx, local, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))); err != nil {
		t.Fatal(err)
	}
	if err := r.app.Client.Delete(ctx, local); err != nil {
		t.Fatal(err)
	}
	// What the garbage collector (not run in this app cluster) does: the
	// copies owned by the local XR go with it.
	_ = r.app.Client.DeleteAllOf(ctx, &corev1.Secret{}, client.InNamespace(r.local), client.MatchingLabels{conflict.LabelManaged: "true"})
	harness.Eventually(t, waitTimeout, func() error {
		if err := r.app.Client.Get(ctx, client.ObjectKeyFromObject(local), r.xr("moved")); !apierrors.IsNotFound(err) {
			return fmt.Errorf("local XR still there (%v)", err)
		}
		return nil
	})

	r.start(t)
	imported := r.waitLocal(t, "moved", syncedAndReady)
	if got, _, _ := unstructured.NestedString(imported.Object, "spec", "crossplane", "compositionRevisionRef", "name"); got != pin {
		t.Errorf("imported XR lost its pin: compositionRevisionRef %q, want %q", got, pin)
	}
	after := r.waitRemote(t, "moved", func(u *unstructured.Unstructured) error {
		if u.GetLabels()[conflict.LabelClusterID] != r.clusterID {
			return fmt.Errorf("remote XR not marked ours again: %v", u.GetLabels())
		}
		return nil
	})
	if after.GetUID() != before.GetUID() {
		t.Errorf("import replaced the remote XR: uid %s, was %s", after.GetUID(), before.GetUID())
	}
	harness.Eventually(t, waitTimeout, func() error {
		return r.app.Client.Get(ctx, client.ObjectKey{Namespace: r.local, Name: r.secretName("moved")}, &corev1.Secret{})
	})
	if _, err := r.remote("kept"); err != nil {
		t.Errorf("the orphaned XR left the control plane: %v", err)
	}
	if err := r.app.Client.Get(ctx, client.ObjectKeyFromObject(r.xr("kept")), r.xr("kept")); !apierrors.IsNotFound(err) {
		t.Errorf("an XR deleted with the Orphan policy was imported back (get: %v)", err)
	}
}

// While the control plane is cut off, local XRs are accepted (finalizer,
// condition ControlPlaneUnreachable) and changes wait; once it answers, both
// converge: the new XR is created and composed, the change goes up and its
// composed status comes down.
func TestXROffline(t *testing.T) {
	world.LogOnFailure(t)
	ctx := context.Background()
	r := newXRRig(t)
	r.start(t)
	if err := r.app.Client.Create(ctx, harness.NewV2XR(r.local, "before", 1)); err != nil {
		t.Fatal(err)
	}
	r.waitLocal(t, "before", syncedAndReady)

	r.proxy.Cut()
	r.waitLocal(t, "before", reason(condition.Type, condition.ReasonUnreachable))
	if err := r.app.Client.Patch(ctx, r.xr("before"), client.RawPatch(types.MergePatchType, []byte(`{"spec":{"storageGB":7}}`))); err != nil {
		t.Fatalf("a local change while offline was refused: %v", err)
	}
	if err := r.app.Client.Create(ctx, harness.NewV2XR(r.local, "during", 2)); err != nil {
		t.Fatalf("a local XR created while offline was refused: %v", err)
	}
	r.waitLocal(t, "during", func(u *unstructured.Unstructured) error {
		if !slicesContain(u.GetFinalizers(), conflict.Finalizer) {
			return fmt.Errorf("no finalizer yet")
		}
		return reason(condition.Type, condition.ReasonUnreachable)(u)
	})

	r.proxy.Restore()
	r.waitLocal(t, "before", func(u *unstructured.Unstructured) error {
		if err := syncedAndReady(u); err != nil {
			return err
		}
		if got, _, _ := unstructured.NestedInt64(u.Object, "status", "storageGB"); got != 7 {
			return fmt.Errorf("status.storageGB = %d, want 7 (the change made offline, composed)", got)
		}
		return nil
	})
	r.waitLocal(t, "during", syncedAndReady)
	if u, err := r.remote("during"); err != nil || !strings.HasPrefix(u.GetName(), "during-") {
		t.Errorf("the XR created offline is not in the control plane under its mapped name: %v", err)
	}
}
