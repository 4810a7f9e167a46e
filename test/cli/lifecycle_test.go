package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

const (
	labelClusterID      = "mcp-connector.io/cluster-id"
	annotationOrphaned  = "mcp-connector.io/orphaned"
	annotationClaimName = "mcp-connector.io/claim-name"
	annotationClaimNS   = "mcp-connector.io/claim-namespace"
	annotationClusterID = "mcp-connector.io/cluster-id"
)

var xrGVK = schema.GroupVersionKind{Group: harness.ExampleGroup, Version: harness.ExampleVersion, Kind: harness.ExampleXRKind}

// remoteState is what the test records of a remote claim before uninstall.
type remoteState struct {
	// local is the local claim it came from, by its origin annotations.
	local  client.ObjectKey
	uid    types.UID
	spec   map[string]any
	xrName string
	xrUID  types.UID
}

// TestInstallUninstallReinstall walks the life of a connection through the
// CLI: install creates the control-plane namespace and waits, with progress,
// for the API; a second install for the namespace is refused; claims sync; status counts them; uninstall stops the
// connector, orphans every remote claim (kept with its spec and composite)
// and leaves the app cluster clean; installing again imports the claims back
// as local copies, bound to the same remote claims and composites.
func TestInstallUninstallReinstall(t *testing.T) {
	world.LogOnFailure(t)
	releaseNS := harness.NewNamespace(t, world.App.Client)
	cpNS := newControlPlaneNamespaceName(t)
	release := "mcp-connector-" + cpNS
	clusterID := appClusterID(t)

	proc := install(t, releaseNS, cpNS, release, "Created namespace "+cpNS+" in control plane")
	startCLI(t, "install", "ctp1", cpNS, "-n", releaseNS, "--control-plane-kubeconfig="+world.ControlPlane.Kubeconfig).
		Fail(t, "is already installed: Helm release "+release)
	startCLI(t, "install", "ctp1", cpNS, "-n", harness.NewNamespace(t, world.App.Client), "--control-plane-kubeconfig="+world.ControlPlane.Kubeconfig).
		Fail(t, "a connector already reports Connection "+cpNS)
	claims := createClaims(t, []string{harness.NewNamespace(t, world.App.Client), harness.NewNamespace(t, world.App.Client)}, 3)
	// One claim lives in a namespace that is gone when the connector comes back.
	goneNS := harness.NewNamespace(t, world.App.Client)
	lost := createClaims(t, []string{goneNS}, 1)[0]
	all := append(append([]*unstructured.Unstructured{}, claims...), lost)
	before := recordRemote(t, cpNS, clusterID, all)
	checkOutput(t, runCLI(t, "status", cpNS), "Connection:", cpNS, harness.ExampleClaimCRDName, "Mirrored", "Claims: 4 in sync, 0 stale, 0 in conflict")

	uninstall(t, releaseNS, cpNS, release, proc, 4)
	checkOrphaned(t, cpNS, before, len(all))
	checkAppClean(t, releaseNS, cpNS, release, all)
	deleteNamespace(t, goneNS)

	proc = install(t, releaseNS, cpNS, release, "Namespace "+cpNS+" exists")
	checkImported(t, cpNS, clusterID, before, claims)
	checkNotImported(t, cpNS, before, lost, proc)
	checkOutput(t, runCLI(t, "status", cpNS), "Claims: 3 in sync, 0 stale, 0 in conflict")

	uninstall(t, releaseNS, cpNS, release, proc, 3)
	checkAppClean(t, releaseNS, cpNS, release, claims)
}

// newControlPlaneNamespaceName returns a fresh name for the control-plane
// namespace, which install must create, and deletes that namespace when the
// test ends.
func newControlPlaneNamespaceName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "cli-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := world.ControlPlane.Client.Delete(context.Background(), ns); client.IgnoreNotFound(err) != nil {
			t.Errorf("delete control-plane namespace %s: %v", name, err)
		}
	})
	return name
}

func appClusterID(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{}
	if err := world.App.Client.Get(context.Background(), client.ObjectKey{Name: "kube-system"}, ns); err != nil {
		t.Fatal(err)
	}
	return string(ns.UID)
}

// install runs `mcp-connector install` with the control plane's kubeconfig
// (an administrator's: install mints an identity and the connector runs with
// its token only, unless extraArgs say --use-given-credentials), runs the
// Deployment it created, and checks install's progress output.
func install(t *testing.T, releaseNS, cpNS, release, nsLine string, extraArgs ...string) *harness.Process {
	t.Helper()
	return installPod(t, releaseNS, cpNS, release, nsLine, extraArgs...).Process
}

// installPod is install returning the whole local pod (its addresses).
func installPod(t *testing.T, releaseNS, cpNS, release, nsLine string, extraArgs ...string) *harness.LocalPod {
	t.Helper()
	cmd := startCLI(t, append([]string{"install", "ctp1", cpNS, "-n", releaseNS,
		"--control-plane-kubeconfig=" + world.ControlPlane.Kubeconfig,
		// The example claim API's group, and the group of Crossplane v2's
		// example XRs (served only when the world is on v2).
		"--set", "rbac.claimAPIGroups[0]=" + harness.ExampleGroup, "--set", "rbac.claimAPIGroups[1]=" + harness.V2Group,
		"--timeout=3m"}, extraArgs...)...)
	pod := runPod(t, releaseNS, release)
	out := cmd.Wait(t)
	checkOutput(t, out, nsLine, "Installed Helm release "+release,
		"Waiting up to 3m0s for the connector", "Control plane", "reachable",
		"API "+harness.ExampleClaimCRDName+": Mirrored", connectedLine())
	return pod
}

// createClaims creates n example claims spread over the namespaces of the
// app cluster and waits until each is Ready and in sync.
func createClaims(t *testing.T, nss []string, n int) []*unstructured.Unstructured {
	t.Helper()
	var claims []*unstructured.Unstructured
	for i := range n {
		ns := nss[i%len(nss)]
		c := harness.NewExampleClaim(ns, fmt.Sprintf("claim-%d", i), int64(i+1))
		c.SetLabels(map[string]string{"team": "platform"})
		if err := world.App.Client.Create(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		claims = append(claims, c)
	}
	for _, c := range claims {
		waitSynced(t, c)
	}
	return claims
}

// deleteNamespace deletes a namespace of the app cluster and waits until it
// is gone.
func deleteNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := world.App.Client.Delete(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, waitTimeout, func() error {
		err := world.App.Client.Get(context.Background(), client.ObjectKey{Name: name}, &corev1.Namespace{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("namespace %s still there (%v)", name, err)
	})
}

// waitSynced waits until a local claim is Ready, Synced and in step, with its
// connection Secret copied.
func waitSynced(t *testing.T, c *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	key := client.ObjectKeyFromObject(c)
	got := harness.WaitForObject(t, world.App.Client, harness.ExampleClaimGVK(), key, waitTimeout, func(u *unstructured.Unstructured) error {
		for _, typ := range []string{"Ready", "Synced", "ControlPlaneSynced"} {
			if err := harness.CheckCondition(u, typ, "True"); err != nil {
				return err
			}
		}
		return nil
	})
	harness.Eventually(t, waitTimeout, func() error {
		return world.App.Client.Get(context.Background(), client.ObjectKey{Namespace: c.GetNamespace(), Name: c.GetName() + "-kubeconfig"}, &corev1.Secret{})
	})
	return got
}

// recordRemote finds the remote claim of every local claim by its origin
// marks and records it with its composite.
func recordRemote(t *testing.T, cpNS, clusterID string, claims []*unstructured.Unstructured) map[string]remoteState {
	t.Helper()
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(harness.ExampleClaimGVK().GroupVersion().WithKind(harness.ExampleClaimKind + "List"))
	if err := world.ControlPlane.Client.List(context.Background(), list, client.InNamespace(cpNS), client.MatchingLabels{labelClusterID: clusterID}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != len(claims) {
		t.Fatalf("the control plane holds %d claims of this cluster, want %d", len(list.Items), len(claims))
	}
	out := map[string]remoteState{}
	for _, r := range list.Items {
		xr, _, _ := unstructured.NestedString(r.Object, "spec", "resourceRef", "name")
		spec, _, _ := unstructured.NestedMap(r.Object, "spec")
		local := client.ObjectKey{Namespace: r.GetAnnotations()[annotationClaimNS], Name: r.GetAnnotations()[annotationClaimName]}
		s := remoteState{local: local, uid: r.GetUID(), spec: spec, xrName: xr, xrUID: getXR(t, xr).GetUID()}
		out[r.GetName()] = s
	}
	return out
}

func getXR(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	xr := &unstructured.Unstructured{}
	xr.SetGroupVersionKind(xrGVK)
	if err := world.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Name: name}, xr); err != nil {
		t.Fatalf("composite %s: %v", name, err)
	}
	if !xr.GetDeletionTimestamp().IsZero() {
		t.Errorf("composite %s is being deleted", name)
	}
	return xr
}

// uninstall runs `mcp-connector uninstall`, stopping the connector process
// once the Deployment is scaled to zero, as the kubelet would stop the pod.
func uninstall(t *testing.T, releaseNS, cpNS, release string, proc *harness.Process, n int) {
	t.Helper()
	cmd := startCLI(t, "uninstall", cpNS, "-n", releaseNS, "--timeout=2m")
	waitScaledToZero(t, releaseNS, release)
	if err := proc.Stop(); err != nil {
		t.Fatal(err)
	}
	out := cmd.Wait(t)
	checkOutput(t, out, "[1/5] Stopping the connector", "No connector runs",
		"[2/5] Orphaning the claims", fmt.Sprintf("%s: %d claim(s) orphaned in %s", harness.ExampleClaimCRDName, n, cpNS),
		"[3/5] Removing the local claims", fmt.Sprintf("%s: %d local claim(s) and %d connection Secret(s) removed", harness.ExampleClaimCRDName, n, n),
		"[4/5] Removing the Connection and the Helm release", "Helm release "+release+" uninstalled",
		"[5/5] Removing this cluster's identity in the control plane", "Disconnected from control-plane namespace "+cpNS)
}

// checkOrphaned checks every remote claim: still there, not deleting, the
// same object with the same spec and composite, no longer labelled as this
// cluster's, marked orphaned by uninstall, origin annotations kept.
func checkOrphaned(t *testing.T, cpNS string, before map[string]remoteState, n int) {
	t.Helper()
	for name, b := range before {
		r := getRemote(t, cpNS, name)
		spec, _, _ := unstructured.NestedMap(r.Object, "spec")
		if diff := cmp.Diff(b.spec, spec); diff != "" {
			t.Errorf("remote claim %s: spec changed by uninstall (-before +after):\n%s", name, diff)
		}
		if r.GetUID() != b.uid || !r.GetDeletionTimestamp().IsZero() {
			t.Errorf("remote claim %s: uid %s (was %s), deletionTimestamp %v", name, r.GetUID(), b.uid, r.GetDeletionTimestamp())
		}
		if v, ok := r.GetLabels()[labelClusterID]; ok {
			t.Errorf("remote claim %s still carries label %s=%s", name, labelClusterID, v)
		}
		a := r.GetAnnotations()
		if a[annotationOrphaned] != "uninstalled" || a[annotationClaimName] == "" || a[annotationClaimNS] == "" || a[annotationClusterID] == "" {
			t.Errorf("remote claim %s: annotations %v, want orphaned=uninstalled and the origin kept", name, a)
		}
		if got := getXR(t, b.xrName).GetUID(); got != b.xrUID {
			t.Errorf("composite %s of remote claim %s: uid %s, was %s", b.xrName, name, got, b.xrUID)
		}
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(harness.ExampleClaimGVK().GroupVersion().WithKind(harness.ExampleClaimKind + "List"))
	if err := world.ControlPlane.Client.List(context.Background(), list, client.InNamespace(cpNS)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != n {
		t.Errorf("the control-plane namespace holds %d claims, want %d", len(list.Items), n)
	}
}

func getRemote(t *testing.T, cpNS, name string) *unstructured.Unstructured {
	t.Helper()
	r := &unstructured.Unstructured{}
	r.SetGroupVersionKind(harness.ExampleClaimGVK())
	if err := world.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: cpNS, Name: name}, r); err != nil {
		t.Fatalf("remote claim %s after uninstall: %v", name, err)
	}
	return r
}

// checkAppClean checks that nothing of the connection is left in the app
// cluster: claims, connection Secrets, the mirrored CRD and its roles, the
// Connection, the release's objects, its Lease and kubeconfig Secret.
func checkAppClean(t *testing.T, releaseNS, cpNS, release string, claims []*unstructured.Unstructured) {
	t.Helper()
	c := world.App.Client
	gone := func(what string, obj client.Object, key client.ObjectKey) {
		t.Helper()
		harness.Eventually(t, waitTimeout, func() error {
			if err := c.Get(context.Background(), key, obj); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s %s still there (%v)", what, key, err)
			}
			return nil
		})
	}
	gone("CRD", &apiextensionsv1.CustomResourceDefinition{}, client.ObjectKey{Name: harness.ExampleClaimCRDName})
	gone("CRD", &apiextensionsv1.CustomResourceDefinition{}, client.ObjectKey{Name: "connections.mcp-connector.io"})
	for _, suffix := range []string{"edit", "view"} {
		gone("ClusterRole", &rbacv1.ClusterRole{}, client.ObjectKey{Name: "mcp-connector:" + harness.ExampleClaimCRDName + ":" + suffix})
	}
	gone("ClusterRole", &rbacv1.ClusterRole{}, client.ObjectKey{Name: release})
	gone("Deployment", &appsv1.Deployment{}, client.ObjectKey{Namespace: releaseNS, Name: release})
	gone("Lease", &coordinationv1.Lease{}, client.ObjectKey{Namespace: releaseNS, Name: "mcp-connector-" + cpNS})
	gone("Secret", &corev1.Secret{}, client.ObjectKey{Namespace: releaseNS, Name: release + "-control-plane-kubeconfig"})
	for _, cl := range claims {
		gone("Secret", &corev1.Secret{}, client.ObjectKey{Namespace: cl.GetNamespace(), Name: cl.GetName() + "-kubeconfig"})
	}
	helmSecrets := &corev1.SecretList{}
	if err := c.List(context.Background(), helmSecrets, client.InNamespace(releaseNS), client.MatchingLabels{"owner": "helm"}); err != nil {
		t.Fatal(err)
	}
	if len(helmSecrets.Items) != 0 {
		t.Errorf("Helm still records %d release(s) in %s", len(helmSecrets.Items), releaseNS)
	}
}

// checkImported checks that install brought every claim back: the local copy
// with its spec, labels and connection Secret, bound to the very remote claim
// and composite it had, which is marked as this cluster's again.
func checkImported(t *testing.T, cpNS, clusterID string, before map[string]remoteState, claims []*unstructured.Unstructured) {
	t.Helper()
	for _, c := range claims {
		got := waitSynced(t, c)
		want, _, _ := unstructured.NestedMap(c.Object, "spec", "nodes")
		nodes, _, _ := unstructured.NestedMap(got.Object, "spec", "nodes")
		if diff := cmp.Diff(want, nodes); diff != "" {
			t.Errorf("imported claim %s: spec.nodes (-want +got):\n%s", client.ObjectKeyFromObject(c), diff)
		}
		if got.GetLabels()["team"] != "platform" {
			t.Errorf("imported claim %s: labels %v, want team=platform", client.ObjectKeyFromObject(c), got.GetLabels())
		}
	}
	after := recordRemote(t, cpNS, clusterID, claims)
	imported := map[client.ObjectKey]bool{}
	for _, c := range claims {
		imported[client.ObjectKeyFromObject(c)] = true
	}
	for name, b := range before {
		if !imported[b.local] {
			continue
		}
		a, ok := after[name]
		if !ok {
			t.Errorf("remote claim %s is not marked as this cluster's again", name)
			continue
		}
		if a.uid != b.uid || a.xrUID != b.xrUID {
			t.Errorf("remote claim %s: uid %s (was %s), composite uid %s (was %s)", name, a.uid, b.uid, a.xrUID, b.xrUID)
		}
		if diff := cmp.Diff(b.spec, a.spec); diff != "" {
			t.Errorf("remote claim %s: spec changed by the import (-before +after):\n%s", name, diff)
		}
		if _, ok := getRemote(t, cpNS, name).GetAnnotations()[annotationOrphaned]; ok {
			t.Errorf("remote claim %s still carries %s after import", name, annotationOrphaned)
		}
	}
	checkNoWarnings(t, claims)
}

// checkNotImported checks that the claim whose namespace is gone was left
// orphaned in the control plane, and that the connector said why.
func checkNotImported(t *testing.T, cpNS string, before map[string]remoteState, lost *unstructured.Unstructured, proc *harness.Process) {
	t.Helper()
	for name, b := range before {
		if b.local != client.ObjectKeyFromObject(lost) {
			continue
		}
		harness.Eventually(t, waitTimeout, func() error {
			if !strings.Contains(proc.Logs(), "Not importing orphaned claim: its namespace does not exist") {
				return fmt.Errorf("the connector has not reported the claim %s it cannot import", b.local)
			}
			return nil
		})
		r := getRemote(t, cpNS, name)
		if _, labelled := r.GetLabels()[labelClusterID]; labelled || r.GetAnnotations()[annotationOrphaned] != "uninstalled" || r.GetUID() != b.uid {
			t.Errorf("remote claim %s of the missing namespace: labels %v, annotations %v; want it left orphaned", name, r.GetLabels(), r.GetAnnotations())
		}
		return
	}
	t.Fatalf("no remote claim recorded for %s", client.ObjectKeyFromObject(lost))
}

// checkNoWarnings fails the test for any Warning Event on the claims: an
// import must not look like a conflict, not even for a moment.
func checkNoWarnings(t *testing.T, claims []*unstructured.Unstructured) {
	t.Helper()
	for _, c := range claims {
		events := &corev1.EventList{}
		if err := world.App.Client.List(context.Background(), events, client.InNamespace(c.GetNamespace())); err != nil {
			t.Fatal(err)
		}
		for _, e := range events.Items {
			if e.InvolvedObject.Name == c.GetName() && e.Type == corev1.EventTypeWarning {
				t.Errorf("Warning Event on claim %s: %s: %s", client.ObjectKeyFromObject(c), e.Reason, e.Message)
			}
		}
	}
}

// connectedLine is install's last line: the example claim API mirrored, and
// on Crossplane v2 the namespaced Database XR too (its cluster-scoped XR is
// refused, which install reports and does not wait for).
func connectedLine() string {
	if harness.CrossplaneV2FromEnv() {
		return "Connected: 2 APIs mirrored"
	}
	return "Connected: 1 APIs mirrored"
}
