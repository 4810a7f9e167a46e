package e2ev2

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// xrTimeout bounds the waits for Crossplane and the function (an XR is Ready in about a second).
const xrTimeout = time.Minute

// Crossplane v2 really composes, with no connector: a namespaced Database XR becomes Synced and Ready because
// the function composed a ConfigMap and a Secret in its namespace, controlled by the XR and listed in
// spec.crossplane.resourceRefs; its status comes back from the composed ConfigMap; a second XR in the same
// namespace composes too (composed names come from the XR); deleting an XR garbage-collects what it composed.
// The cluster-scoped Bucket API is served, cluster-wide.
func TestV2ControlPlaneComposesNamespacedXR(t *testing.T) {
	world.LogOnFailure(t)
	ctx := context.Background()
	cp := world.ControlPlane
	ns := harness.NewNamespace(t, cp.Client)

	start := time.Now()
	for _, x := range []*unstructured.Unstructured{harness.NewV2XR(ns, "orders", 3), harness.NewV2XR(ns, "users", 5)} {
		if err := cp.Client.Create(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	xr := harness.WaitForObject(t, cp.Client, harness.V2XRGVK(), client.ObjectKey{Namespace: ns, Name: "orders"}, xrTimeout, func(u *unstructured.Unstructured) error {
		for _, c := range []string{"Synced", "Ready"} {
			if err := harness.CheckCondition(u, c, "True"); err != nil {
				return err
			}
		}
		if got, _, _ := unstructured.NestedInt64(u.Object, "status", "storageGB"); got != 3 {
			return fmt.Errorf("status.storageGB = %d, want 3", got)
		}
		return nil
	})
	t.Logf("XR Synced, Ready and with composed status after %s", time.Since(start).Round(time.Millisecond))

	if got, _, _ := unstructured.NestedString(xr.Object, "spec", "crossplane", "compositionRef", "name"); got != harness.V2CompositionName {
		t.Errorf("spec.crossplane.compositionRef.name = %q, want %q", got, harness.V2CompositionName)
	}
	if got, _, _ := unstructured.NestedString(xr.Object, "spec", "crossplane", "compositionUpdatePolicy"); got != "Automatic" {
		t.Errorf("spec.crossplane.compositionUpdatePolicy = %q, want Automatic", got)
	}
	refs, _, _ := unstructured.NestedSlice(xr.Object, "spec", "crossplane", "resourceRefs")
	wantRefs := map[string]bool{"ConfigMap/" + harness.V2ConfigMapName("orders"): false, "Secret/" + harness.V2SecretName("orders"): false}
	for _, r := range refs {
		m, _ := r.(map[string]any)
		if _, ok := wantRefs[fmt.Sprintf("%v/%v", m["kind"], m["name"])]; ok {
			wantRefs[fmt.Sprintf("%v/%v", m["kind"], m["name"])] = true
		}
	}
	for ref, seen := range wantRefs {
		if !seen {
			t.Errorf("spec.crossplane.resourceRefs lacks %s: %v", ref, refs)
		}
	}

	secret := &corev1.Secret{}
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: harness.V2SecretName("orders")}, secret); err != nil {
		t.Fatalf("composed Secret: %v", err)
	}
	if got := string(secret.Data["password"]); got != harness.V2Password {
		t.Errorf("composed Secret: password = %q, want %q", got, harness.V2Password)
	}
	for _, k := range harness.V2ConnectionKeys() {
		if len(secret.Data[k]) == 0 {
			t.Errorf("composed Secret lacks key %q: has %d keys", k, len(secret.Data))
		}
	}
	cm := &corev1.ConfigMap{}
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: harness.V2ConfigMapName("orders")}, cm); err != nil {
		t.Fatalf("composed ConfigMap: %v", err)
	}
	for _, o := range []client.Object{secret, cm} {
		if owner := metav1.GetControllerOf(o); owner == nil || owner.UID != xr.GetUID() {
			t.Errorf("%T %s is not controlled by the XR %s: %v", o, o.GetName(), xr.GetUID(), o.GetOwnerReferences())
		}
	}
	harness.WaitForObject(t, cp.Client, harness.V2XRGVK(), client.ObjectKey{Namespace: ns, Name: "users"}, xrTimeout, func(u *unstructured.Unstructured) error {
		return harness.CheckCondition(u, "Ready", "True")
	})

	deleted := time.Now()
	if err := cp.Client.Delete(ctx, xr); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, xrTimeout, func() error {
		for _, o := range []client.Object{xr, secret, cm} {
			if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(o), o); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%T %s still there (get: %v)", o, o.GetName(), err)
			}
		}
		return nil
	})
	t.Logf("XR and its composed resources gone %s after the delete", time.Since(deleted).Round(time.Millisecond))

	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := cp.Client.Get(ctx, client.ObjectKey{Name: harness.V2ClusterXRDName}, crd); err != nil {
		t.Fatal(err)
	}
	if crd.Spec.Scope != apiextensionsv1.ClusterScoped {
		t.Errorf("CRD %s: scope %s, want Cluster", crd.Name, crd.Spec.Scope)
	}
}
