package cli

import (
	"context"
	"os"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// TestInstallWithoutNamespaceRights installs with control-plane credentials
// that may neither create nor see namespaces, handed over in an existing
// Secret (--control-plane-secret, as Upbound Spaces provides one): install
// says what to ask the control plane's administrator for, creates nothing
// there, and still installs a release that mounts that Secret. Uninstall
// then works although no connector ever ran, and leaves the user's Secret.
func TestInstallWithoutNamespaceRights(t *testing.T) {
	world.LogOnFailure(t)
	releaseNS := harness.NewNamespace(t, world.App.Client)
	cpNS := newControlPlaneNamespaceName(t)
	release := "mcp-connector-" + cpNS
	_, kubeconfig, err := world.ControlPlane.AddUser("no-rights-" + cpNS)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := os.ReadFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: releaseNS, Name: "spaces-kubeconfig"}, Data: map[string][]byte{"kubeconfig": kc}}
	if err := world.App.Client.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}

	out := runCLI(t, "install", "ctp1", cpNS, "-n", releaseNS, "--control-plane-secret=spaces-kubeconfig", "--wait=false")
	checkOutput(t, out, "may neither create namespace "+cpNS+" nor see whether it exists", "kubectl create namespace "+cpNS,
		"Installed Helm release "+release)
	err = world.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Name: cpNS}, &corev1.Namespace{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("control-plane namespace %s: %v, want NotFound", cpNS, err)
	}
	d := &appsv1.Deployment{}
	if err := world.App.Client.Get(context.Background(), client.ObjectKey{Namespace: releaseNS, Name: release}, d); err != nil {
		t.Fatal(err)
	}
	if v := d.Spec.Template.Spec.Volumes; len(v) != 1 || v[0].Secret == nil || v[0].Secret.SecretName != secret.Name {
		t.Errorf("the Deployment mounts %+v, want Secret %s", v, secret.Name)
	}

	out = runCLI(t, "uninstall", cpNS, "-n", releaseNS)
	checkOutput(t, out, "No connector runs", "Helm release "+release+" uninstalled")
	if err := world.App.Client.Get(context.Background(), client.ObjectKeyFromObject(secret), &corev1.Secret{}); err != nil {
		t.Errorf("the user's Secret %s after uninstall: %v, want it kept", secret.Name, err)
	}
	checkAppClean(t, releaseNS, cpNS, release, nil)
}
