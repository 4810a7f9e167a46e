package e2ev2

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/cmd/lifecycle"
	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// TestMigrateXRsFromUpbound migrates in place the namespaced XRs that
// Upbound's MCP Connector made on Crossplane v2, beside a claim of the same
// local name (names and labels computed from its rule, composed by real
// Crossplane): a dry run lists the XR and the claim to import and an XR
// whose app namespace is missing, and writes nothing; --yes marks the
// three, and a second run changes nothing; `install` (the connector with
// the identity it minted) then imports the XR as a local XR in its app
// namespace, bound to the same remote XR (same uid, same name, same
// composed resources) with its composed Secret, and the claim with its
// connection Secret, and syncs them from then on; the other XR is imported
// once its namespace is created, without a restart; a run after the import
// changes nothing.
func TestMigrateXRsFromUpbound(t *testing.T) {
	world.LogOnFailure(t)
	ctx := context.Background()
	r := newXRRig(t)
	upID := "upbound-" + r.clusterID
	// The cluster id of migrate and install both: the uid of kube-system.
	ns := &corev1.Namespace{}
	if err := r.app.Client.Get(ctx, client.ObjectKey{Name: "kube-system"}, ns); err != nil {
		t.Fatal(err)
	}
	clusterID := string(ns.UID)
	const missingNS = "later"
	orders := upboundObject(t, r, harness.NewV2XR("", "", 2), upID, r.local, "orders", true)
	cache := upboundObject(t, r, harness.NewV2XR("", "", 1), upID, missingNS, "cache", true)
	claim := upboundObject(t, r, harness.NewExampleClaim("", "orders", 1), upID, r.local, "orders", false)

	out := r.migrateUpbound(t, upID)
	harness.CheckOutput(t, out, "Database.data.starter.org/"+orders.GetName()+" -> "+r.local+"/orders: import",
		"KubernetesCluster.k8s.starter.org/"+claim.GetName()+" -> "+r.local+"/orders: import",
		cache.GetName()+" -> "+missingNS+"/cache: conflict: its namespace does not exist in this cluster",
		"2 to import, 1 in conflict, 0 migrated already", "Nothing was changed")
	checkMarks(t, r, orders, cache, claim)

	harness.CheckOutput(t, r.migrateUpbound(t, upID, "--yes"), "Marked 3 object(s) to import")
	var marked []*unstructured.Unstructured
	for _, u := range []*unstructured.Unstructured{orders, cache, claim} {
		m := getRemoteObject(t, r, u)
		if m.GetAnnotations()[conflict.AnnotationClusterID] != clusterID || m.GetLabels()[conflict.LabelClaimNamespace] == "" {
			t.Errorf("%s %s not marked to import: labels %v annotations %v", m.GetKind(), m.GetName(), m.GetLabels(), m.GetAnnotations())
		}
		marked = append(marked, m)
	}
	harness.CheckOutput(t, r.migrateUpbound(t, upID, "--yes"), orders.GetName()+" -> "+r.local+"/orders: migrated already",
		"0 to import, 0 in conflict, 3 migrated already", "Marked 0 object(s)")
	checkMarks(t, r, marked...)

	r.install(t)
	checkUpboundMigrated(t, r, clusterID, orders, claim)
	checkOnlyUpbounds(t, r, orders, cache, claim)
	if err := r.app.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: missingNS}}); err != nil {
		t.Fatal(err)
	}
	checkUpboundMigrated(t, r, clusterID, orders, cache, claim)
	checkOnlyUpbounds(t, r, orders, cache, claim)

	// Synced from then on: a change of the local XR goes up under the old
	// name and its composed status comes down.
	if err := r.app.Client.Patch(ctx, r.xr("orders"), client.RawPatch(types.MergePatchType, []byte(`{"spec":{"storageGB":5}}`))); err != nil {
		t.Fatal(err)
	}
	r.waitLocal(t, "orders", func(u *unstructured.Unstructured) error {
		if got, _, _ := unstructured.NestedInt64(u.Object, "status", "storageGB"); got != 5 {
			return fmt.Errorf("status.storageGB = %d, want 5 (the change, composed under %s)", got, orders.GetName())
		}
		return syncedAndReady(u)
	})
	harness.CheckOutput(t, r.migrateUpbound(t, upID, "--yes"), "0 to import, 0 in conflict, 3 migrated already", "Marked 0 object(s)")
}

// migrateUpbound runs `mcp-connector migrate upbound` for the rig's
// namespace against its app cluster.
func (r *xrRig) migrateUpbound(t *testing.T, upboundID string, extra ...string) string {
	t.Helper()
	args := append([]string{"migrate", "upbound", r.namespace, "--upbound-cluster-id=" + upboundID,
		"--control-plane-kubeconfig=" + world.ControlPlane.Kubeconfig}, extra...)
	out, err := harness.RunCLI(t, r.app.Kubeconfig, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mcp-connector %s:\n%s", strings.Join(args, " "), out)
	return out
}

// install runs `mcp-connector install` for the rig's control-plane
// namespace with an administrator's kubeconfig of the control plane (so it
// mints the app cluster's identity), runs the Deployment it made as its pod
// would run (its ServiceAccount, the minted token), and waits until install
// saw the connector connected. The identity's cluster-wide objects are
// removed when the test ends.
func (r *xrRig) install(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	const releaseNS = "connector"
	release := "mcp-connector-" + r.namespace
	if err := r.app.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: releaseNS}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, o := range lifecycle.IdentityObjects(r.namespace, nil) {
			if o.GetNamespace() == "" {
				_ = world.ControlPlane.Client.Delete(context.Background(), o)
			}
		}
	})
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := harness.RunCLI(t, r.app.Kubeconfig, "install", "ctp1", r.namespace, "-n", releaseNS,
			"--control-plane-kubeconfig="+world.ControlPlane.Kubeconfig, "--set", "rbac.claimAPIGroups[0]="+harness.ExampleGroup,
			"--set", "rbac.claimAPIGroups[1]="+harness.V2Group, "--timeout=3m")
		done <- result{out, err}
	}()
	d := &appsv1.Deployment{}
	harness.Eventually(t, waitTimeout, func() error {
		return r.app.Client.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: release}, d)
	})
	harness.StartPod(t, r.app.Client, d, d.Name+"-0", harness.ServiceAccountKubeconfig(t, r.app, releaseNS, d.Spec.Template.Spec.ServiceAccountName))
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	t.Logf("mcp-connector install:\n%s", res.out)
	harness.CheckOutput(t, res.out, "Minted identity ServiceAccount "+r.namespace+"/", "API "+harness.V2XRDName+": Mirrored", "Connected")
}

// upboundObject creates obj (a claim or a namespaced XR) in the rig's
// control-plane namespace as Upbound's connector makes the remote object of
// the local object ns/name of its app cluster clusterID (name and labels
// from its rule), and waits until Crossplane made it Ready and bound.
func upboundObject(t *testing.T, r *xrRig, obj *unstructured.Unstructured, clusterID, ns, name string, namespacedXR bool) *unstructured.Unstructured {
	t.Helper()
	obj.SetNamespace(r.namespace)
	obj.SetName(sync.UpboundRemoteName(clusterID, ns, name, namespacedXR))
	obj.SetLabels(map[string]string{sync.UpboundLabelAppCluster: clusterID, sync.UpboundLabelAppNamespace: ns, sync.UpboundLabelAppName: name})
	if err := world.ControlPlane.Client.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	return harness.WaitForObject(t, world.ControlPlane.Client, obj.GroupVersionKind(), client.ObjectKeyFromObject(obj), waitTimeout, func(u *unstructured.Unstructured) error {
		if !bound(u) {
			return fmt.Errorf("%s %s not bound or composed yet", u.GetKind(), u.GetName())
		}
		return harness.CheckCondition(u, "Ready", "True")
	})
}

// boundTo is what Crossplane bound a remote object to: a claim's composite
// (spec.resourceRef), an XR's composed resources (spec.crossplane.resourceRefs).
func boundTo(u *unstructured.Unstructured) any {
	if u.GroupVersionKind() == harness.V2XRGVK() {
		refs, _, _ := unstructured.NestedSlice(u.Object, "spec", "crossplane", "resourceRefs")
		return refs
	}
	ref, _, _ := unstructured.NestedString(u.Object, "spec", "resourceRef", "name")
	return ref
}

// bound says whether Crossplane bound the claim or composed the XR (both
// resources of the example composition).
func bound(u *unstructured.Unstructured) bool {
	switch b := boundTo(u).(type) {
	case []any:
		return len(b) >= 2
	case string:
		return b != ""
	}
	return false
}

// getRemoteObject reads the current state of the remote object u.
func getRemoteObject(t *testing.T, r *xrRig, u *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(u.GroupVersionKind())
	if err := world.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: r.namespace, Name: u.GetName()}, got); err != nil {
		t.Fatal(err)
	}
	return got
}

// checkMarks checks that the remote objects carry the labels and
// annotations they had (what a migration writes).
func checkMarks(t *testing.T, r *xrRig, was ...*unstructured.Unstructured) {
	t.Helper()
	for _, w := range was {
		got := getRemoteObject(t, r, w)
		if diff := cmp.Diff(w.GetLabels(), got.GetLabels()); diff != "" {
			t.Errorf("the labels of %s %s were changed (-was +now):\n%s", w.GetKind(), w.GetName(), diff)
		}
		if diff := cmp.Diff(w.GetAnnotations(), got.GetAnnotations()); diff != "" {
			t.Errorf("the annotations of %s %s were changed (-was +now):\n%s", w.GetKind(), w.GetName(), diff)
		}
	}
}

// checkUpboundMigrated checks that each of Upbound's objects has its local
// copy in its app namespace, Ready and in sync, with its Secret (an XR's
// composed one, a claim's connection Secret), and is still the same remote
// object under the same name, bound to the same composite or composed
// resources, labelled as this cluster's.
func checkUpboundMigrated(t *testing.T, r *xrRig, clusterID string, upbound ...*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	for _, u := range upbound {
		l := u.GetLabels()
		key := client.ObjectKey{Namespace: l[sync.UpboundLabelAppNamespace], Name: l[sync.UpboundLabelAppName]}
		local := harness.WaitForObject(t, r.app.Client, u.GroupVersionKind(), key, waitTimeout, syncedAndReady)
		if got := local.GetAnnotations()[sync.AnnotationRemoteName]; got != u.GetName() {
			t.Errorf("local %s %s: annotation %s = %q, want %q", u.GetKind(), key, sync.AnnotationRemoteName, got, u.GetName())
		}
		remote := getRemoteObject(t, r, u)
		if remote.GetUID() != u.GetUID() || !cmp.Equal(boundTo(u), boundTo(remote)) {
			t.Errorf("remote %s %s: uid %s bound to %v, was %s bound to %v", u.GetKind(), u.GetName(), remote.GetUID(), boundTo(remote), u.GetUID(), boundTo(u))
		}
		if got := remote.GetLabels()[conflict.LabelClusterID]; got != clusterID {
			t.Errorf("remote %s %s: cluster-id label %q, want %q", u.GetKind(), u.GetName(), got, clusterID)
		}
		name, want := key.Name+"-kubeconfig", harness.ExamplePassword
		if u.GroupVersionKind() == harness.V2XRGVK() {
			name, want = sync.XRSecretName(harness.V2Group, harness.V2XRKind, key.Name, harness.V2SecretName(u.GetName())), harness.V2Password
		}
		secret := &corev1.Secret{}
		harness.Eventually(t, waitTimeout, func() error {
			return r.app.Client.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: name}, secret)
		})
		if got := string(secret.Data["password"]); got != want {
			t.Errorf("copied Secret %s/%s: password = %q, want %q", key.Namespace, name, got, want)
		}
	}
}

// checkOnlyUpbounds checks that the control-plane namespace holds, of the
// kinds of Upbound's objects, only those: none was made again under
// mcp-connector's names.
func checkOnlyUpbounds(t *testing.T, r *xrRig, upbound ...*unstructured.Unstructured) {
	t.Helper()
	want := map[schema.GroupVersionKind][]string{}
	for _, u := range upbound {
		want[u.GroupVersionKind()] = append(want[u.GroupVersionKind()], u.GetName())
	}
	for gvk, names := range want {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := world.ControlPlane.Client.List(context.Background(), list, client.InNamespace(r.namespace)); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, i := range list.Items {
			got = append(got, i.GetName())
		}
		slices.Sort(got)
		slices.Sort(names)
		if diff := cmp.Diff(names, got); diff != "" {
			t.Errorf("the control-plane namespace holds other %s objects than Upbound's (-want +got):\n%s", gvk.Kind, diff)
		}
	}
}
