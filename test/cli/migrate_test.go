package cli

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// TestMigrateFromUpbound migrates in place from Upbound's MCP Connector:
// claims made as that connector makes them (names and labels computed from
// its rule, composed by real Crossplane) are listed by a dry run that
// writes nothing, one to import and one whose app namespace is missing;
// --yes marks both, and a second run changes nothing; install then imports
// the first under its name, bound to the same remote claim and composite,
// with its connection Secret; the other is imported by the running
// connector once its namespace is created.
func TestMigrateFromUpbound(t *testing.T) {
	world.LogOnFailure(t)
	ctx := context.Background()
	releaseNS := harness.NewNamespace(t, world.App.Client)
	cpNS := newControlPlaneNamespaceName(t)
	release := "mcp-connector-" + cpNS
	if err := world.ControlPlane.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: cpNS}}); err != nil {
		t.Fatal(err)
	}
	const upID = "upbound-app-cluster-1"
	appNS := harness.NewNamespace(t, world.App.Client)
	missingNS := "later-" + cpNS
	t.Cleanup(func() {
		_ = world.App.Client.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: missingNS}})
	})
	db := upboundClaim(t, cpNS, upID, appNS, "db", 1)
	cache := upboundClaim(t, cpNS, upID, missingNS, "cache", 2)
	migrate := []string{"migrate", "upbound", cpNS, "--upbound-cluster-id=" + upID, "--control-plane-kubeconfig=" + world.ControlPlane.Kubeconfig}

	out := runCLI(t, migrate...)
	checkOutput(t, out, db.GetName()+" -> "+appNS+"/db: import",
		cache.GetName()+" -> "+missingNS+"/cache: conflict: its namespace does not exist in this cluster",
		"1 to import, 1 in conflict, 0 migrated already", "Nothing was changed")
	checkUnchanged(t, cpNS, db, cache)

	checkOutput(t, runCLI(t, append(migrate, "--yes")...), "Marked 2 object(s) to import")
	markedDB, markedCache := getRemote(t, cpNS, db.GetName()), getRemote(t, cpNS, cache.GetName())
	checkOutput(t, runCLI(t, append(migrate, "--yes")...), db.GetName()+" -> "+appNS+"/db: migrated already",
		cache.GetName()+" -> "+missingNS+"/cache: migrated already", "0 to import, 0 in conflict, 2 migrated already", "Marked 0 object(s)")
	checkUnchanged(t, cpNS, markedDB, markedCache)

	proc := install(t, releaseNS, cpNS, release, "Namespace "+cpNS+" exists")
	checkMigrated(t, cpNS, db)
	// The claim whose namespace is missing is imported, by the running
	// connector, once the namespace is created.
	if err := world.App.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: missingNS}}); err != nil {
		t.Fatal(err)
	}
	checkMigrated(t, cpNS, db, cache)
	uninstall(t, releaseNS, cpNS, release, proc, 2)
}

// upboundClaim creates, in the control-plane namespace, the claim Upbound's
// connector makes for the local claim ns/name of app cluster clusterID, and
// waits until Crossplane made it Ready.
func upboundClaim(t *testing.T, cpNS, clusterID, ns, name string, count int64) *unstructured.Unstructured {
	t.Helper()
	c := harness.NewExampleClaim(cpNS, sync.UpboundRemoteName(clusterID, ns, name, false), count)
	if err := unstructured.SetNestedField(c.Object, name+"-kubeconfig", "spec", "writeConnectionSecretToRef", "name"); err != nil {
		t.Fatal(err)
	}
	c.SetLabels(map[string]string{sync.UpboundLabelAppCluster: clusterID, sync.UpboundLabelAppNamespace: ns, sync.UpboundLabelAppName: name})
	if err := world.ControlPlane.Client.Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return harness.WaitForObject(t, world.ControlPlane.Client, harness.ExampleClaimGVK(), client.ObjectKeyFromObject(c), waitTimeout, func(u *unstructured.Unstructured) error {
		if ref, _, _ := unstructured.NestedString(u.Object, "spec", "resourceRef", "name"); ref == "" {
			return fmt.Errorf("claim %s not bound to a composite yet", u.GetName())
		}
		return harness.CheckCondition(u, "Ready", "True")
	})
}

// checkUnchanged checks that the remote claims are as they were.
func checkUnchanged(t *testing.T, cpNS string, was ...*unstructured.Unstructured) {
	t.Helper()
	for _, w := range was {
		if got := getRemote(t, cpNS, w.GetName()); got.GetResourceVersion() != w.GetResourceVersion() {
			t.Errorf("remote claim %s was written (resourceVersion %s, was %s)", w.GetName(), got.GetResourceVersion(), w.GetResourceVersion())
		}
	}
}

// checkMigrated checks that each Upbound claim has its local copy, Ready
// and in sync with its connection Secret, and is still the same object with
// the same name and composite; and that no other remote claim was made.
func checkMigrated(t *testing.T, cpNS string, upbound ...*unstructured.Unstructured) {
	t.Helper()
	for _, u := range upbound {
		l := u.GetLabels()
		local := harness.NewExampleClaim(l[sync.UpboundLabelAppNamespace], l[sync.UpboundLabelAppName], 0)
		waitSynced(t, local)
		r := getRemote(t, cpNS, u.GetName())
		gotRef, _, _ := unstructured.NestedString(r.Object, "spec", "resourceRef", "name")
		wasRef, _, _ := unstructured.NestedString(u.Object, "spec", "resourceRef", "name")
		if r.GetUID() != u.GetUID() || gotRef != wasRef {
			t.Errorf("remote claim %s: uid %s bound to %s, was %s bound to %s", u.GetName(), r.GetUID(), gotRef, u.GetUID(), wasRef)
		}
		xr := getXR(t, wasRef)
		if xr.GetUID() == types.UID("") {
			t.Errorf("composite %s has no uid", wasRef)
		}
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(harness.ExampleClaimGVK().GroupVersion().WithKind(harness.ExampleClaimKind + "List"))
	if err := world.ControlPlane.Client.List(context.Background(), list, client.InNamespace(cpNS)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		var names []string
		for _, i := range list.Items {
			names = append(names, i.GetName())
		}
		t.Errorf("the control-plane namespace holds claims %v, want only the two Upbound made", names)
	}
}
