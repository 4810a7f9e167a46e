package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// A claim created locally is pushed up with its origin marks, Crossplane makes
// it Ready, and status, resourceRef and the connection Secret come down.
// An update goes up without losing resourceRef; a delete waits until the
// control plane removed the claim and its composite.
func TestClaimRoundTrip(t *testing.T) {
	sharedConnector(t)
	ctx := context.Background()
	ns := harness.NewNamespace(t, world.App.Client)
	local := harness.NewExampleClaim(ns, "db", 2)
	local.SetLabels(map[string]string{"team": "payments", "app.kubernetes.io/instance": "argocd-app"})
	local.SetAnnotations(map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}", "note": "up"})
	create(t, world.App.Client, local)

	remote := waitRemote(t, local, func(r *unstructured.Unstructured) error { return hasOriginMarks(r, ns, "db") })
	if got := remote.GetLabels()["team"]; got != "payments" {
		t.Errorf("remote label team = %q, want payments", got)
	}
	if _, ok := remote.GetLabels()["app.kubernetes.io/instance"]; ok {
		t.Errorf("ArgoCD's tracking label went up to the control plane")
	}
	if _, ok := remote.GetAnnotations()["kubectl.kubernetes.io/last-applied-configuration"]; ok {
		t.Errorf("kubectl's last-applied-configuration went up to the control plane")
	}
	remoteSecret, _, _ := unstructured.NestedString(remote.Object, "spec", "writeConnectionSecretToRef", "name")
	if remoteSecret == "db-kubeconfig" || remoteSecret == "" {
		t.Errorf("remote writeConnectionSecretToRef.name = %q, want a mapped unique name", remoteSecret)
	}

	got := waitLocal(t, local, func(u *unstructured.Unstructured) error {
		if err := readyAndSynced(u); err != nil {
			return err
		}
		if _, ok, _ := unstructured.NestedMap(u.Object, "spec", "resourceRef"); !ok {
			return fmt.Errorf("spec.resourceRef not written down yet")
		}
		return nil
	})
	if !controllerutilContains(got.GetFinalizers(), conflict.Finalizer) {
		t.Errorf("local claim has no finalizer %s: %v", conflict.Finalizer, got.GetFinalizers())
	}
	secret := waitSecret(t, ns, "db-kubeconfig")
	for _, k := range harness.ExampleConnectionKeys() {
		if len(secret.Data[k]) == 0 {
			t.Errorf("local connection Secret lacks key %q", k)
		}
	}
	if string(secret.Data["password"]) != harness.ExamplePassword {
		t.Errorf("password = %q, want %q", secret.Data["password"], harness.ExamplePassword)
	}
	if owner := metav1.GetControllerOf(secret); owner == nil || owner.UID != got.GetUID() {
		t.Errorf("local Secret is not controlled by the local claim: %v", secret.OwnerReferences)
	}
	// A copy edited in the app cluster gets the control plane's data back
	// (the connector's cache holds only a digest of its copies' data).
	secret.Data["password"] = []byte("edited")
	if err := world.App.Client.Update(ctx, secret); err != nil {
		t.Fatalf("edit the local connection Secret: %v", err)
	}
	harness.Eventually(t, waitTimeout, func() error {
		s := &corev1.Secret{}
		if err := world.App.Client.Get(ctx, client.ObjectKeyFromObject(secret), s); err != nil {
			return err
		}
		if string(s.Data["password"]) != harness.ExamplePassword {
			return fmt.Errorf("password = %q, want the control plane's %q back", s.Data["password"], harness.ExamplePassword)
		}
		return nil
	})

	// Update: goes up, resourceRef survives on both sides.
	ref, _, _ := unstructured.NestedMap(waitRemote(t, local, hasResourceRef).Object, "spec", "resourceRef")
	patch := []byte(`{"spec":{"nodes":{"count":5}}}`)
	if err := world.App.Client.Patch(ctx, got, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatalf("update local claim: %v", err)
	}
	waitRemote(t, local, func(r *unstructured.Unstructured) error {
		n, _, _ := unstructured.NestedInt64(r.Object, "spec", "nodes", "count")
		if n != 5 {
			return fmt.Errorf("remote nodes.count = %d, want 5", n)
		}
		after, _, _ := unstructured.NestedMap(r.Object, "spec", "resourceRef")
		if fmt.Sprint(after) != fmt.Sprint(ref) {
			return fmt.Errorf("remote resourceRef changed from %v to %v", ref, after)
		}
		return nil
	})
	xrName, _, _ := unstructured.NestedString(ref, "name")

	// Delete: the remote claim and its composite go first, then the local copy.
	if err := world.App.Client.Delete(ctx, got); err != nil {
		t.Fatalf("delete local claim: %v", err)
	}
	waitRemoteGone(t, local)
	waitCompositeGone(t, xrName)
	waitLocalGone(t, got)
}

func hasResourceRef(r *unstructured.Unstructured) error {
	if _, ok, _ := unstructured.NestedMap(r.Object, "spec", "resourceRef"); !ok {
		return fmt.Errorf("remote claim %s not bound yet", r.GetName())
	}
	return nil
}

func controllerutilContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func waitSecret(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	harness.Eventually(t, waitTimeout, func() error {
		return world.App.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, s)
	})
	return s
}

func waitCompositeGone(t *testing.T, name string) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		xr := &unstructured.Unstructured{}
		xr.SetAPIVersion(harness.ExampleGroup + "/" + harness.ExampleVersion)
		xr.SetKind("X" + harness.ExampleClaimKind)
		err := world.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Name: name}, xr)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("composite %s still exists (%v)", name, err)
	})
}

// The same claim name in two namespaces maps to two remote claims.
func TestSameNameInTwoNamespaces(t *testing.T) {
	sharedConnector(t)
	a, b := harness.NewNamespace(t, world.App.Client), harness.NewNamespace(t, world.App.Client)
	la, lb := harness.NewExampleClaim(a, "same", 1), harness.NewExampleClaim(b, "same", 3)
	create(t, world.App.Client, la)
	create(t, world.App.Client, lb)
	ra := waitRemote(t, la, func(r *unstructured.Unstructured) error { return hasOriginMarks(r, a, "same") })
	rb := waitRemote(t, lb, func(r *unstructured.Unstructured) error { return hasOriginMarks(r, b, "same") })
	if ra.GetName() == rb.GetName() {
		t.Fatalf("both claims map to %s", ra.GetName())
	}
	for _, c := range []struct {
		local *unstructured.Unstructured
		count int64
	}{{la, 1}, {lb, 3}} {
		waitLocal(t, c.local, readyAndSynced)
		s := waitSecret(t, c.local.GetNamespace(), "same-kubeconfig")
		if string(s.Data["password"]) != harness.ExamplePassword {
			t.Errorf("%s: connection Secret has password %q", c.local.GetNamespace(), s.Data["password"])
		}
		r, _ := remoteOf(context.Background(), c.local)
		if n, _, _ := unstructured.NestedInt64(r.Object, "spec", "nodes", "count"); n != c.count {
			t.Errorf("%s: remote nodes.count = %d, want %d", c.local.GetNamespace(), n, c.count)
		}
	}
}

// A 253-character name, the Kubernetes maximum, works: the mirrored CRD lifts
// Crossplane's 63-character limit and the remote name is mapped to fit.
func TestLongestName(t *testing.T) {
	sharedConnector(t)
	ns := harness.NewNamespace(t, world.App.Client)
	name := strings.Repeat("n", 253)
	local := harness.NewExampleClaim(ns, name, 1)
	unstructured.RemoveNestedField(local.Object, "spec", "writeConnectionSecretToRef")
	create(t, world.App.Client, local)
	r := waitRemote(t, local, func(r *unstructured.Unstructured) error { return hasOriginMarks(r, ns, name) })
	if len(r.GetName()) > sync.MaxRemoteNameLength {
		t.Errorf("remote name %q has %d characters", r.GetName(), len(r.GetName()))
	}
	waitLocal(t, local, readyAndSynced)
}

// Orphan deletion: the local claim goes, the remote claim stays, no longer
// marked as this cluster's.
func TestOrphanDelete(t *testing.T) {
	sharedConnector(t)
	ctx := context.Background()
	ns := harness.NewNamespace(t, world.App.Client)
	local := harness.NewExampleClaim(ns, "keep-me", 1)
	local.SetAnnotations(map[string]string{conflict.AnnotationDeletionPolicy: conflict.DeletionPolicyOrphan})
	create(t, world.App.Client, local)
	waitLocal(t, local, readyAndSynced)
	remote := waitRemote(t, local, hasResourceRef)
	if err := world.App.Client.Delete(ctx, local); err != nil {
		t.Fatal(err)
	}
	waitLocalGone(t, local.DeepCopy())
	after, err := remoteOf(ctx, local)
	if err != nil {
		t.Fatalf("the remote claim is gone after an orphan delete: %v", err)
	}
	if after.GetUID() != remote.GetUID() || !after.GetDeletionTimestamp().IsZero() {
		t.Errorf("the remote claim was replaced or is being deleted")
	}
	if after.GetAnnotations()[conflict.AnnotationOrphaned] == "" || after.GetLabels()[conflict.LabelClusterID] != "" {
		t.Errorf("orphaned remote claim is not marked as let go: labels %v annotations %v", after.GetLabels(), after.GetAnnotations())
	}
	t.Cleanup(func() { _ = world.ControlPlane.Client.Delete(context.Background(), after) })
}

// Status written locally is overwritten by the control plane's; a remote spec
// changed out of band is reverted, with an Event.
func TestDriftIsReverted(t *testing.T) {
	c := sharedConnector(t)
	ctx := context.Background()
	ns := harness.NewNamespace(t, world.App.Client)
	local := harness.NewExampleClaim(ns, "drift", 2)
	create(t, world.App.Client, local)
	local = waitLocal(t, local, readyAndSynced)
	before := metric(t, c, "mcp_connector_spec_reverts_total")

	remote := waitRemote(t, local, hasResourceRef)
	if err := world.ControlPlane.Client.Patch(ctx, remote, client.RawPatch("application/merge-patch+json",
		[]byte(`{"spec":{"nodes":{"count":9,"size":"large"},"services":{"extra":"x"}}}`)), client.FieldOwner("someone-else")); err != nil {
		t.Fatalf("change the remote spec out of band: %v", err)
	}
	waitRemote(t, local, func(r *unstructured.Unstructured) error {
		n, _, _ := unstructured.NestedInt64(r.Object, "spec", "nodes", "count")
		size, _, _ := unstructured.NestedString(r.Object, "spec", "nodes", "size")
		if _, extra, _ := unstructured.NestedFieldNoCopy(r.Object, "spec", "services", "extra"); n != 2 || size != "small" || extra {
			return fmt.Errorf("remote spec not reverted yet: count %d size %s extra field %v", n, size, extra)
		}
		return nil
	})
	waitEvent(t, local, "SpecReverted")
	if after := metric(t, c, "mcp_connector_spec_reverts_total"); after <= before {
		t.Errorf("mcp_connector_spec_reverts_total did not grow: %v -> %v", before, after)
	}

	// A local status edit is overwritten by the control plane's truth.
	edited := local.DeepCopy()
	_ = unstructured.SetNestedSlice(edited.Object, []any{map[string]any{"type": "Ready", "status": "False", "reason": "Edited", "lastTransitionTime": "2020-01-01T00:00:00Z"}}, "status", "conditions")
	if err := world.App.Client.Status().Update(ctx, edited); err != nil {
		t.Fatalf("edit local status: %v", err)
	}
	waitLocal(t, local, readyAndSynced)
}

// A remote claim deleted by someone else in the control plane is re-created
// from the local copy, with an Event.
func TestRemoteDeletedIsRecreated(t *testing.T) {
	sharedConnector(t)
	ctx := context.Background()
	ns := harness.NewNamespace(t, world.App.Client)
	local := harness.NewExampleClaim(ns, "phoenix", 1)
	create(t, world.App.Client, local)
	local = waitLocal(t, local, readyAndSynced)
	remote := waitRemote(t, local, hasResourceRef)
	if err := world.ControlPlane.Client.Delete(ctx, remote); err != nil {
		t.Fatal(err)
	}
	waitRemote(t, local, func(r *unstructured.Unstructured) error {
		if r.GetUID() == remote.GetUID() {
			return fmt.Errorf("still the old remote claim")
		}
		return nil
	})
	waitEvent(t, local, "RecreatedInControlPlane")
	waitLocal(t, local, readyAndSynced)
}

// A remote claim of the mapped name that mcp-connector did not create is
// never overwritten: the local claim reports the conflict.
func TestForeignRemoteClaimIsRefused(t *testing.T) {
	sharedConnector(t)
	ctx := context.Background()
	ns := harness.NewNamespace(t, world.App.Client)
	local := harness.NewExampleClaim(ns, "taken", 1)
	foreign := harness.NewExampleClaim(sharedNamespace, sync.RemoteName(sharedClusterID, ns, "taken"), 7)
	unstructured.RemoveNestedField(foreign.Object, "spec", "writeConnectionSecretToRef")
	create(t, world.ControlPlane.Client, foreign)
	t.Cleanup(func() { _ = world.ControlPlane.Client.Delete(context.Background(), foreign) })

	create(t, world.App.Client, local)
	waitLocal(t, local, conditionReason(condition.Type, "ForeignObject"))
	waitEvent(t, local, "ForeignObject")
	r, err := remoteOf(ctx, local)
	if err != nil {
		t.Fatal(err)
	}
	if n, _, _ := unstructured.NestedInt64(r.Object, "spec", "nodes", "count"); n != 7 || r.GetLabels()[conflict.LabelClusterID] != "" {
		t.Errorf("the foreign remote claim was changed: count %d labels %v", n, r.GetLabels())
	}

	// Deleting the local claim leaves the foreign remote claim alone.
	if err := world.App.Client.Delete(ctx, local); err != nil {
		t.Fatal(err)
	}
	waitLocalGone(t, local.DeepCopy())
	if _, err := remoteOf(ctx, local); err != nil {
		t.Errorf("the foreign remote claim was deleted: %v", err)
	}
}

// A local Secret of the chosen name that mcp-connector does not own is never
// overwritten; the claim says why its connection details are missing.
func TestForeignLocalSecretIsKept(t *testing.T) {
	sharedConnector(t)
	ctx := context.Background()
	ns := harness.NewNamespace(t, world.App.Client)
	mine := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "precious-kubeconfig"}, StringData: map[string]string{"mine": "yes"}}
	create(t, world.App.Client, mine)
	local := harness.NewExampleClaim(ns, "precious", 1)
	create(t, world.App.Client, local)
	waitLocal(t, local, conditionReason(condition.Type, "SecretConflict"))
	got := &corev1.Secret{}
	if err := world.App.Client.Get(ctx, client.ObjectKeyFromObject(mine), got); err != nil {
		t.Fatal(err)
	}
	if string(got.Data["mine"]) != "yes" || len(got.Data["password"]) != 0 || len(got.OwnerReferences) != 0 {
		t.Errorf("the user's Secret was written: %v", got)
	}
}
