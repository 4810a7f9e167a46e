package e2ev2

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/cmd/lifecycle"
	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// TestMigrateXRsFromUpbound migrates in place the namespaced XRs that
// Upbound's MCP Connector made on Crossplane v2 (names and labels computed
// from its rule, composed by real Crossplane): a dry run lists one to
// import and one whose app namespace is missing, and writes nothing; --yes
// marks both, and a second run changes nothing; `install` (the connector
// with the identity it minted) then imports the first as a local XR in its
// app namespace, bound to the same remote XR (same uid, same name, same
// composed resources) with its composed Secret, and syncs it from then on;
// the other is imported once its namespace is created, without a restart;
// a run after the import changes nothing.
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
	orders := upboundXR(t, r, upID, r.local, "orders", 2)
	cache := upboundXR(t, r, upID, missingNS, "cache", 1)

	out := r.migrateUpbound(t, upID)
	harness.CheckOutput(t, out, orders.GetName()+" -> "+r.local+"/orders: import",
		cache.GetName()+" -> "+missingNS+"/cache: conflict: its namespace does not exist in this cluster",
		"1 to import, 1 in conflict, 0 migrated already", "Nothing was changed")
	checkMarks(t, r, orders, cache)

	harness.CheckOutput(t, r.migrateUpbound(t, upID, "--yes"), "Marked 2 object(s) to import")
	marked := []*unstructured.Unstructured{getUpboundXR(t, r, orders.GetName()), getUpboundXR(t, r, cache.GetName())}
	for _, m := range marked {
		if m.GetAnnotations()[conflict.AnnotationClusterID] != clusterID || m.GetLabels()[conflict.LabelClaimNamespace] == "" {
			t.Errorf("XR %s not marked to import: labels %v annotations %v", m.GetName(), m.GetLabels(), m.GetAnnotations())
		}
	}
	harness.CheckOutput(t, r.migrateUpbound(t, upID, "--yes"), orders.GetName()+" -> "+r.local+"/orders: migrated already",
		"0 to import, 0 in conflict, 2 migrated already", "Marked 0 object(s)")
	checkMarks(t, r, marked...)

	r.install(t)
	checkXRMigrated(t, r, clusterID, orders)
	if err := r.app.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: missingNS}}); err != nil {
		t.Fatal(err)
	}
	checkXRMigrated(t, r, clusterID, orders, cache)

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
	harness.CheckOutput(t, r.migrateUpbound(t, upID, "--yes"), "0 to import, 0 in conflict, 2 migrated already", "Marked 0 object(s)")
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

// upboundXR creates, in the rig's control-plane namespace, the namespaced
// XR Upbound's connector makes for the local XR ns/name of its app cluster
// clusterID, and waits until Crossplane composed it Ready.
func upboundXR(t *testing.T, r *xrRig, clusterID, ns, name string, storageGB int64) *unstructured.Unstructured {
	t.Helper()
	x := harness.NewV2XR(r.namespace, sync.UpboundRemoteName(clusterID, ns, name, true), storageGB)
	x.SetLabels(map[string]string{sync.UpboundLabelAppCluster: clusterID, sync.UpboundLabelAppNamespace: ns, sync.UpboundLabelAppName: name})
	if err := world.ControlPlane.Client.Create(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	return harness.WaitForObject(t, world.ControlPlane.Client, harness.V2XRGVK(), client.ObjectKeyFromObject(x), waitTimeout, func(u *unstructured.Unstructured) error {
		if refs, _, _ := unstructured.NestedSlice(u.Object, "spec", "crossplane", "resourceRefs"); len(refs) < 2 {
			return fmt.Errorf("XR %s not composed yet: resourceRefs %v", u.GetName(), refs)
		}
		return harness.CheckCondition(u, "Ready", "True")
	})
}

func getUpboundXR(t *testing.T, r *xrRig, name string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(harness.V2XRGVK())
	if err := world.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: r.namespace, Name: name}, u); err != nil {
		t.Fatal(err)
	}
	return u
}

// checkMarks checks that the remote XRs carry the labels and annotations
// they had (what a migration writes).
func checkMarks(t *testing.T, r *xrRig, was ...*unstructured.Unstructured) {
	t.Helper()
	for _, w := range was {
		got := getUpboundXR(t, r, w.GetName())
		if diff := cmp.Diff(w.GetLabels(), got.GetLabels()); diff != "" {
			t.Errorf("the labels of XR %s were changed (-was +now):\n%s", w.GetName(), diff)
		}
		if diff := cmp.Diff(w.GetAnnotations(), got.GetAnnotations()); diff != "" {
			t.Errorf("the annotations of XR %s were changed (-was +now):\n%s", w.GetName(), diff)
		}
	}
}

// checkXRMigrated checks that each of Upbound's XRs has its local copy in
// its app namespace, Ready and in sync, with its composed Secret, and is
// still the same remote object under the same name with the same composed
// resources, labelled as this cluster's; and that no other remote XR was
// made.
func checkXRMigrated(t *testing.T, r *xrRig, clusterID string, upbound ...*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	for _, u := range upbound {
		l := u.GetLabels()
		key := client.ObjectKey{Namespace: l[sync.UpboundLabelAppNamespace], Name: l[sync.UpboundLabelAppName]}
		local := harness.WaitForObject(t, r.app.Client, harness.V2XRGVK(), key, waitTimeout, syncedAndReady)
		if got := local.GetAnnotations()[sync.AnnotationRemoteName]; got != u.GetName() {
			t.Errorf("local XR %s: annotation %s = %q, want %q", key, sync.AnnotationRemoteName, got, u.GetName())
		}
		remote := getUpboundXR(t, r, u.GetName())
		wasRefs, _, _ := unstructured.NestedSlice(u.Object, "spec", "crossplane", "resourceRefs")
		gotRefs, _, _ := unstructured.NestedSlice(remote.Object, "spec", "crossplane", "resourceRefs")
		if remote.GetUID() != u.GetUID() || !cmp.Equal(wasRefs, gotRefs) {
			t.Errorf("remote XR %s: uid %s composing %v, was %s composing %v", u.GetName(), remote.GetUID(), gotRefs, u.GetUID(), wasRefs)
		}
		if got := remote.GetLabels()[conflict.LabelClusterID]; got != clusterID {
			t.Errorf("remote XR %s: cluster-id label %q, want %q", u.GetName(), got, clusterID)
		}
		secret := &corev1.Secret{}
		name := sync.XRSecretName(harness.V2Group, harness.V2XRKind, key.Name, harness.V2SecretName(u.GetName()))
		harness.Eventually(t, waitTimeout, func() error {
			return r.app.Client.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: name}, secret)
		})
		if got := string(secret.Data["password"]); got != harness.V2Password {
			t.Errorf("copied Secret %s/%s: password = %q, want %q", key.Namespace, name, got, harness.V2Password)
		}
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(harness.V2XRGVK().GroupVersion().WithKind(harness.V2XRKind + "List"))
	if err := world.ControlPlane.Client.List(ctx, list, client.InNamespace(r.namespace)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		var names []string
		for _, i := range list.Items {
			names = append(names, i.GetName())
		}
		t.Errorf("the control-plane namespace holds XRs %v, want only the two Upbound made", names)
	}
}
