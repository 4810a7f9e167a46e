package cli

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// TestReleaseStuckClaim: a claim deleted while its control plane does not
// answer stays, held by the finalizer. `release` without --yes lists it with
// the remote claim it leaves behind and changes nothing; with --yes, run
// while no connector runs, the claim goes and the remote claim is recorded as
// a pending orphan. Once a connector reaches the control plane again, the
// remote claim (the same object) is marked orphaned and the record emptied.
func TestReleaseStuckClaim(t *testing.T) {
	world.LogOnFailure(t)
	releaseNS := harness.NewNamespace(t, world.App.Client)
	cpNS := newControlPlaneNamespaceName(t)
	release := "mcp-connector-" + cpNS
	clusterID := appClusterID(t)
	proxy := controlPlaneProxy(t)
	proc := installVia(t, releaseNS, cpNS, release, proxy.kubeconfig)
	checkOutput(t, runCLI(t, "release", cpNS, "-n", releaseNS), "No claim of control-plane namespace "+cpNS+" is stuck deleting")

	claim := createClaims(t, []string{harness.NewNamespace(t, world.App.Client)}, 1)[0]
	remoteName := sync.RemoteName(clusterID, claim.GetNamespace(), claim.GetName())
	before := getRemote(t, cpNS, remoteName)
	proxy.Cut()
	harness.WaitForObject(t, world.App.Client, harness.ExampleClaimGVK(), client.ObjectKeyFromObject(claim), waitTimeout, claimReason(condition.ReasonUnreachable))
	if err := world.App.Client.Delete(context.Background(), claim); err != nil {
		t.Fatal(err)
	}
	harness.WaitForObject(t, world.App.Client, harness.ExampleClaimGVK(), client.ObjectKeyFromObject(claim), waitTimeout, stuckDeleting)

	out := runCLI(t, "release", cpNS, "-n", releaseNS)
	checkOutput(t, out, "1 claim(s) stuck deleting", claim.GetNamespace()+"/"+claim.GetName(), "the remote claim "+remoteName+" stays in control-plane namespace "+cpNS,
		"composite resource and cloud resources keep running and are not deleted", "Nothing was changed. Run again with --yes")
	if err := stuckDeleting(getClaim(t, claim)); err != nil {
		t.Errorf("release without --yes changed the claim: %v", err)
	}
	if entries := pendingEntries(t, releaseNS); len(entries) != 0 {
		t.Errorf("release without --yes recorded pending orphans: %+v", entries)
	}

	// With --yes, while no connector runs.
	if err := proc.Stop(); err != nil {
		t.Fatal(err)
	}
	out = runCLI(t, "release", cpNS, claim.GetName(), "--claim-namespace", claim.GetNamespace(), "-n", releaseNS, "--yes")
	checkOutput(t, out, "Released "+harness.ExampleClaimKind+" "+claim.GetNamespace()+"/"+claim.GetName(), releaseNS+"/"+sync.PendingOrphansConfigMap)
	if err := world.App.Client.Get(context.Background(), client.ObjectKeyFromObject(claim), claim.DeepCopy()); !apierrors.IsNotFound(err) {
		t.Errorf("the released claim is still there: %v", err)
	}
	// Its connection Secret goes with it, through the garbage collector.
	harness.Eventually(t, waitTimeout, func() error {
		key := client.ObjectKey{Namespace: claim.GetNamespace(), Name: claim.GetName() + "-kubeconfig"}
		if err := world.App.Client.Get(context.Background(), key, &corev1.Secret{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("connection Secret %s of the released claim still there (%v)", key, err)
		}
		return nil
	})
	entries := pendingEntries(t, releaseNS)
	if len(entries) != 1 || entries[0].Name != remoteName || entries[0].Namespace != cpNS || entries[0].ClusterID != clusterID {
		t.Fatalf("pending orphans %+v, want one for remote claim %s in %s", entries, remoteName, cpNS)
	}

	proxy.Restore()
	proc = runDeployment(t, releaseNS, release)
	harness.Eventually(t, waitTimeout, func() error {
		r := getRemote(t, cpNS, remoteName)
		if r.GetUID() != before.GetUID() || !r.GetDeletionTimestamp().IsZero() {
			return fmt.Errorf("remote claim replaced or deleting: uid %s (was %s)", r.GetUID(), before.GetUID())
		}
		if _, ok := r.GetLabels()[labelClusterID]; ok || r.GetAnnotations()[annotationOrphaned] != sync.OrphanedClaimDeleted {
			return fmt.Errorf("remote claim not marked orphaned yet: labels %v, annotations %v", r.GetLabels(), r.GetAnnotations())
		}
		if n := len(pendingEntries(t, releaseNS)); n != 0 {
			return fmt.Errorf("%d pending orphans left", n)
		}
		return nil
	})
	uninstall(t, releaseNS, cpNS, release, proc, 0)
}

// TestUninstallAfterRelease: a claim released while the control plane does
// not answer, then uninstalled before any connector reached the control plane
// again, is not brought back by the next install: uninstall marks its remote
// claim deleted (never imported), not uninstalled, and settles the record.
func TestUninstallAfterRelease(t *testing.T) {
	world.LogOnFailure(t)
	releaseNS := harness.NewNamespace(t, world.App.Client)
	cpNS := newControlPlaneNamespaceName(t)
	release := "mcp-connector-" + cpNS
	clusterID := appClusterID(t)
	proxy := controlPlaneProxy(t)
	proc := installVia(t, releaseNS, cpNS, release, proxy.kubeconfig)
	claims := createClaims(t, []string{harness.NewNamespace(t, world.App.Client)}, 2)
	released, kept := claims[0], claims[1]
	releasedName := sync.RemoteName(clusterID, released.GetNamespace(), released.GetName())
	keptName := sync.RemoteName(clusterID, kept.GetNamespace(), kept.GetName())
	before := getRemote(t, cpNS, releasedName)

	proxy.Cut()
	harness.WaitForObject(t, world.App.Client, harness.ExampleClaimGVK(), client.ObjectKeyFromObject(released), waitTimeout, claimReason(condition.ReasonUnreachable))
	if err := world.App.Client.Delete(context.Background(), released); err != nil {
		t.Fatal(err)
	}
	harness.WaitForObject(t, world.App.Client, harness.ExampleClaimGVK(), client.ObjectKeyFromObject(released), waitTimeout, stuckDeleting)
	if err := proc.Stop(); err != nil {
		t.Fatal(err)
	}
	checkOutput(t, runCLI(t, "release", cpNS, "-n", releaseNS, "--yes"), "Released "+harness.ExampleClaimKind+" "+released.GetNamespace()+"/"+released.GetName())
	if n := len(pendingEntries(t, releaseNS)); n != 1 {
		t.Fatalf("%d pending orphans after release, want 1", n)
	}

	// The control plane answers again, but no connector runs: uninstall is
	// the first to reach it.
	proxy.Restore()
	out := runCLI(t, "uninstall", cpNS, "-n", releaseNS, "--timeout=2m")
	checkOutput(t, out, fmt.Sprintf("%s: 2 claim(s) orphaned in %s", harness.ExampleClaimCRDName, cpNS), "Helm release "+release+" uninstalled")
	r := getRemote(t, cpNS, releasedName)
	if r.GetUID() != before.GetUID() || !r.GetDeletionTimestamp().IsZero() {
		t.Errorf("released remote claim replaced or deleting: uid %s (was %s)", r.GetUID(), before.GetUID())
	}
	if got := r.GetAnnotations()[annotationOrphaned]; got != sync.OrphanedClaimDeleted {
		t.Errorf("released remote claim marked orphaned %q, want %q: the next install would bring it back", got, sync.OrphanedClaimDeleted)
	}
	if got := getRemote(t, cpNS, keptName).GetAnnotations()[annotationOrphaned]; got != "uninstalled" {
		t.Errorf("kept remote claim marked orphaned %q, want uninstalled", got)
	}
	if entries := pendingEntries(t, releaseNS); len(entries) != 0 {
		t.Errorf("pending orphans left after uninstall: %+v", entries)
	}
}

// cpProxy is a fault proxy in front of the control plane and a kubeconfig
// that goes through it.
type cpProxy struct {
	*harness.FaultProxy
	kubeconfig string
}

func controlPlaneProxy(t *testing.T) cpProxy {
	t.Helper()
	u, err := url.Parse(world.ControlPlane.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	p, err := harness.StartFaultProxy(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	kc := filepath.Join(t.TempDir(), "control-plane-via-proxy.kubeconfig")
	if err := harness.WriteProxiedKubeconfig(world.ControlPlane.Kubeconfig, kc, p.Addr()); err != nil {
		t.Fatal(err)
	}
	return cpProxy{FaultProxy: p, kubeconfig: kc}
}

// installVia installs a connector that reaches the control plane through
// kubeconfig, runs its Deployment, and waits until it is connected.
func installVia(t *testing.T, releaseNS, cpNS, release, kubeconfig string) *harness.Process {
	t.Helper()
	cmd := startCLI(t, "install", "ctp1", cpNS, "-n", releaseNS, "--control-plane-kubeconfig="+kubeconfig,
		"--set", "rbac.claimAPIGroups[0]="+harness.ExampleGroup, "--timeout=3m")
	proc := runDeployment(t, releaseNS, release)
	checkOutput(t, cmd.Wait(t), "Installed Helm release "+release, "Connected: 1 APIs mirrored")
	return proc
}

func claimReason(reason string) func(*unstructured.Unstructured) error {
	return func(u *unstructured.Unstructured) error {
		if got := condition.SyncedReason(u); got != reason {
			return fmt.Errorf("claim %s has reason %q, want %q", u.GetName(), got, reason)
		}
		return nil
	}
}

// stuckDeleting: the claim is being deleted and held by our finalizer.
func stuckDeleting(u *unstructured.Unstructured) error {
	if u.GetDeletionTimestamp().IsZero() || !controllerutil.ContainsFinalizer(u, conflict.Finalizer) {
		return fmt.Errorf("claim %s: deletionTimestamp %v, finalizers %v; want it deleting and held", u.GetName(), u.GetDeletionTimestamp(), u.GetFinalizers())
	}
	return nil
}

func getClaim(t *testing.T, c *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(harness.ExampleClaimGVK())
	if err := world.App.Client.Get(context.Background(), client.ObjectKeyFromObject(c), u); err != nil {
		t.Fatalf("claim %s: %v", c.GetName(), err)
	}
	return u
}

// pendingEntries reads the record of pending orphans of a release namespace.
func pendingEntries(t *testing.T, ns string) []sync.PendingOrphan {
	t.Helper()
	cm := &corev1.ConfigMap{}
	err := world.App.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: sync.PendingOrphansConfigMap}, cm)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	entries, bad := sync.DecodePending(cm.Data)
	if len(bad) > 0 {
		t.Errorf("unreadable pending orphans %v", bad)
	}
	return entries
}
