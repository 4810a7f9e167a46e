package cli

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// TestInstallMintsIdentity installs with an administrator's kubeconfig:
// install mints an identity for the app cluster in the control plane and
// the app cluster stores only its token. The connector then does
// everything with only that identity's rights (claims created, Ready, their
// Secrets down, a claim deleted in both clusters, the rest orphaned by
// uninstall), the token is refused (403) anywhere else, `mcp-connector
// rbac` prints the very rules install granted, and uninstall removes the
// identity with the identity's own token.
func TestInstallMintsIdentity(t *testing.T) {
	world.LogOnFailure(t)
	releaseNS := harness.NewNamespace(t, world.App.Client)
	cpNS := newControlPlaneNamespaceName(t)
	release := "mcp-connector-" + cpNS
	clusterID := appClusterID(t)

	proc := install(t, releaseNS, cpNS, release, "Minted identity ServiceAccount "+cpNS+"/mcp-connector")
	robot := storedClient(t, releaseNS, release)
	checkRefused(t, robot, cpNS)
	checkRBACCommand(t, cpNS)

	claims := createClaims(t, []string{harness.NewNamespace(t, world.App.Client)}, 2)
	gone, kept := claims[0], claims[1]
	recordRemote(t, cpNS, clusterID, claims)
	if err := world.App.Client.Delete(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, waitTimeout, func() error {
		err := world.App.Client.Get(context.Background(), client.ObjectKeyFromObject(gone), &unstructured.Unstructured{Object: map[string]any{"apiVersion": gone.GetAPIVersion(), "kind": gone.GetKind()}})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("claim %s still there (%v)", gone.GetName(), err)
	})
	harness.Eventually(t, waitTimeout, func() error { // its Secret goes with it (garbage collector)
		err := world.App.Client.Get(context.Background(), client.ObjectKey{Namespace: gone.GetNamespace(), Name: gone.GetName() + "-kubeconfig"}, &corev1.Secret{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("Secret of deleted claim %s still there (%v)", gone.GetName(), err)
	})
	before := recordRemote(t, cpNS, clusterID, claims[1:])
	checkOutput(t, runCLI(t, "status", cpNS), "Claims: 1 in sync, 0 stale, 0 in conflict")

	uninstall(t, releaseNS, cpNS, release, proc, 1)
	checkOrphaned(t, cpNS, before, 1)
	checkAppClean(t, releaseNS, cpNS, release, []*unstructured.Unstructured{kept})
	checkIdentityGone(t, cpNS)
}

// storedClient is a client of the control plane with the credentials the
// app cluster stores, after checking that they are a token and nothing else.
func storedClient(t *testing.T, releaseNS, release string) client.Client {
	t.Helper()
	s := &corev1.Secret{}
	if err := world.App.Client.Get(context.Background(), client.ObjectKey{Namespace: releaseNS, Name: release + "-control-plane-kubeconfig"}, s); err != nil {
		t.Fatal(err)
	}
	kc, err := clientcmd.Load(s.Data["kubeconfig"])
	if err != nil {
		t.Fatal(err)
	}
	if len(kc.AuthInfos) != 1 {
		t.Fatalf("the stored kubeconfig has %d users, want 1", len(kc.AuthInfos))
	}
	for name, u := range kc.AuthInfos {
		if u.Token == "" || len(u.ClientCertificateData) > 0 || len(u.ClientKeyData) > 0 || u.Username != "" || u.Exec != nil {
			t.Fatalf("the stored user %s holds more than a token: %+v", name, u)
		}
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(s.Data["kubeconfig"])
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: world.ControlPlane.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkRefused checks that the minted token is refused with 403 anywhere
// but its namespace and the reads of mirroring, and allowed there.
func checkRefused(t *testing.T, robot client.Client, cpNS string) {
	t.Helper()
	ctx := context.Background()
	claims := &unstructured.UnstructuredList{}
	claims.SetGroupVersionKind(harness.ExampleClaimGVK().GroupVersion().WithKind(harness.ExampleClaimKind + "List"))
	xrds := &unstructured.UnstructuredList{}
	xrds.SetAPIVersion("apiextensions.crossplane.io/v1")
	xrds.SetKind("CompositeResourceDefinitionList")
	if err := robot.List(ctx, xrds); err != nil || len(xrds.Items) == 0 {
		t.Fatalf("the minted token lists %d XRDs (%v), want them all", len(xrds.Items), err)
	}
	if err := robot.List(ctx, claims, client.InNamespace(cpNS)); err != nil {
		t.Errorf("the minted token lists claims in its namespace %s: %v, want allowed", cpNS, err)
	}
	if err := robot.List(ctx, &corev1.SecretList{}, client.InNamespace(cpNS)); err != nil {
		t.Errorf("the minted token lists Secrets in its namespace %s: %v, want allowed", cpNS, err)
	}
	other := harness.NewNamespace(t, world.ControlPlane.Client)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "x"}}
	secretHere := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: cpNS, Name: "written-by-robot"}}
	patched := xrds.Items[0].DeepCopy()
	refused := map[string]error{
		"list claims in another namespace":  robot.List(ctx, claims, client.InNamespace(other)),
		"create a ConfigMap in another one": robot.Create(ctx, cm),
		"list Secrets in kube-system":       robot.List(ctx, &corev1.SecretList{}, client.InNamespace("kube-system")),
		"list Secrets of every namespace":   robot.List(ctx, &corev1.SecretList{}),
		"get a Secret in another namespace": robot.Get(ctx, client.ObjectKey{Namespace: other, Name: "any"}, &corev1.Secret{}),
		"write a Secret in its namespace":   robot.Create(ctx, secretHere),
		"create an XRD":                     robot.Create(ctx, harnessXRD()),
		"patch an XRD":                      robot.Patch(ctx, patched, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"labels":{"robot":"was-here"}}}`))),
		"delete an XRD":                     robot.Delete(ctx, patched),
		"create a namespace":                robot.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "robot-" + cpNS}}),
		"bind itself to cluster-admin": robot.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "robot-" + cpNS},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: cpNS, Name: "mcp-connector"}}}),
	}
	for what, err := range refused {
		if !apierrors.IsForbidden(err) {
			t.Errorf("the minted token may %s: %v, want 403 Forbidden", what, err)
		}
	}
}

// harnessXRD is a minimal XRD of a group of its own.
func harnessXRD() *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.crossplane.io/v1", "kind": "CompositeResourceDefinition",
		"metadata": map[string]any{"name": "xrobots.robot.example.org"},
		"spec": map[string]any{"group": "robot.example.org",
			"names":      map[string]any{"kind": "XRobot", "plural": "xrobots"},
			"claimNames": map[string]any{"kind": "Robot", "plural": "robots"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "referenceable": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object"}}}}},
	}}
	return u
}

// checkRBACCommand checks that `mcp-connector rbac` prints the rules install
// granted, reading the claim groups from the XRDs.
func checkRBACCommand(t *testing.T, cpNS string) {
	t.Helper()
	path, err := harness.BuildConnector()
	if err != nil {
		t.Fatal(err)
	}
	// rbac talks to no app cluster: no --kubeconfig, unlike runCLI.
	b, err := exec.Command(path, "rbac", cpNS, "--control-plane-kubeconfig="+world.ControlPlane.Kubeconfig).CombinedOutput()
	if err != nil {
		t.Fatalf("mcp-connector rbac: %v\n%s", err, b)
	}
	out := string(b)
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewBufferString(out), 4096)
	kinds := map[string]unstructured.Unstructured{}
	for {
		var u unstructured.Unstructured
		if err := dec.Decode(&u.Object); err != nil {
			break
		}
		kinds[u.GetKind()] = u
	}
	if len(kinds) != 5 {
		t.Fatalf("mcp-connector rbac printed %d kinds, want 5:\n%s", len(kinds), out)
	}
	for kind, obj := range map[string]client.Object{"Role": &rbacv1.Role{}, "ClusterRole": &rbacv1.ClusterRole{}} {
		printed := kinds[kind]
		if err := world.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: printed.GetNamespace(), Name: printed.GetName()}, obj); err != nil {
			t.Fatalf("the minted %s %s: %v", kind, printed.GetName(), err)
		}
		minted, _, _ := unstructured.NestedSlice(toMap(t, obj), "rules")
		rules, _, _ := unstructured.NestedSlice(printed.Object, "rules")
		if diff := cmp.Diff(minted, rules); diff != "" {
			t.Errorf("mcp-connector rbac prints other %s rules than install granted (-granted +printed):\n%s", kind, diff)
		}
	}
}

func toMap(t *testing.T, obj client.Object) map[string]any {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkIdentityGone waits until every object of the identity is gone.
func checkIdentityGone(t *testing.T, cpNS string) {
	t.Helper()
	objs := map[client.Object]client.ObjectKey{
		&corev1.ServiceAccount{}:     {Namespace: cpNS, Name: "mcp-connector"},
		&rbacv1.Role{}:               {Namespace: cpNS, Name: "mcp-connector"},
		&rbacv1.RoleBinding{}:        {Namespace: cpNS, Name: "mcp-connector"},
		&rbacv1.ClusterRole{}:        {Name: "mcp-connector:" + cpNS},
		&rbacv1.ClusterRoleBinding{}: {Name: "mcp-connector:" + cpNS},
	}
	harness.Eventually(t, waitTimeout, func() error {
		for obj, key := range objs {
			if err := world.ControlPlane.Client.Get(context.Background(), key, obj); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%T %s of the identity after uninstall: %v, want it gone", obj, key, err)
			}
		}
		return nil
	})
}
