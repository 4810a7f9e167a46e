package cli

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/cmd/lifecycle"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// TestLongNamespacesSharingAPrefix installs connectors for two control-plane
// namespaces too long for a release name that share their first 39
// characters (one release name when names were only cut): each gets a
// release of its own, an uninstall of a third such namespace that is not
// installed touches neither, and uninstalling one leaves the other running.
func TestLongNamespacesSharingAPrefix(t *testing.T) {
	world.LogOnFailure(t)
	releaseNS := harness.NewNamespace(t, world.App.Client)
	long := newControlPlaneNamespaceName(t) + "-" + strings.Repeat("x", 30)
	a, b, notInstalled := long+"-one", long+"-two", long+"-three"
	deleteControlPlaneNamespacesAtEnd(t, a, b)
	relA, relB := lifecycle.ReleaseName(a), lifecycle.ReleaseName(b)

	for _, ns := range []string{a, b} {
		out := runCLI(t, "install", "ctp1", ns, "-n", releaseNS, "--control-plane-kubeconfig="+world.ControlPlane.Kubeconfig, "--wait=false")
		checkOutput(t, out, "Installed Helm release "+lifecycle.ReleaseName(ns))
	}
	startCLI(t, "uninstall", notInstalled, "-n", releaseNS).
		Fail(t, "no connector for control-plane namespace "+notInstalled+" is installed in namespace "+releaseNS)
	checkDeployment(t, releaseNS, relA)
	checkDeployment(t, releaseNS, relB)

	checkOutput(t, runCLI(t, "uninstall", b, "-n", releaseNS), "Helm release "+relB+" uninstalled")
	checkDeployment(t, releaseNS, relA)
	checkOutput(t, runCLI(t, "uninstall", a, "-n", releaseNS), "Helm release "+relA+" uninstalled")
	checkAppClean(t, releaseNS, a, relA, nil)
	checkAppClean(t, releaseNS, b, relB, nil)
}

// checkDeployment fails the test unless the release's Deployment exists.
func checkDeployment(t *testing.T, namespace, release string) {
	t.Helper()
	if err := world.App.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: release}, &appsv1.Deployment{}); err != nil {
		t.Errorf("Deployment %s/%s of release %s: %v, want it there", namespace, release, release, err)
	}
}

// deleteControlPlaneNamespacesAtEnd deletes namespaces that install created
// in the control plane when the test ends.
func deleteControlPlaneNamespacesAtEnd(t *testing.T, names ...string) {
	t.Helper()
	t.Cleanup(func() {
		for _, name := range names {
			err := world.ControlPlane.Client.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
			if client.IgnoreNotFound(err) != nil {
				t.Errorf("delete control-plane namespace %s: %v", name, err)
			}
		}
	})
}
