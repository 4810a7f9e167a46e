package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// TestControlPlaneServesExampleClaim proves the control plane alone, with no
// connector: a claim created directly in it becomes Ready and Synced, its
// composed status comes back, Crossplane writes its connection Secret, and
// deleting the claim removes the composite resource and the Secret (garbage
// collection included).
func TestControlPlaneServesExampleClaim(t *testing.T) {
	world.LogOnFailure(t)
	ctx := context.Background()
	cp := world.ControlPlane
	ns := harness.NewNamespace(t, cp.Client)

	claim := harness.NewExampleClaim(ns, "smoke", 2)
	if err := harness.Apply(ctx, cp.Client, claim); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	key := client.ObjectKeyFromObject(claim)
	harness.WaitForReadyClaim(t, cp.Client, harness.ExampleClaimGVK(), key, time.Minute)
	ready := harness.WaitForObject(t, cp.Client, harness.ExampleClaimGVK(), key, 30*time.Second, func(u *unstructured.Unstructured) error {
		ready, _, _ := unstructured.NestedInt64(u.Object, "status", "nodes", "ready")
		if ready != 2 {
			return fmt.Errorf("status.nodes.ready = %d, want 2", ready)
		}
		return nil
	})
	t.Logf("Claim Ready, Synced and with composed status after %s", time.Since(start).Round(time.Millisecond))

	secretKey := client.ObjectKey{Namespace: ns, Name: "smoke-kubeconfig"}
	harness.Eventually(t, 30*time.Second, func() error {
		return checkConnectionSecret(ctx, cp.Client, secretKey)
	})
	t.Logf("Connection Secret complete after %s", time.Since(start).Round(time.Millisecond))

	xr := compositeOf(t, ready)
	deleted := time.Now()
	if err := cp.Client.Delete(ctx, ready); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: secretKey.Namespace, Name: secretKey.Name}}
	harness.Eventually(t, time.Minute, func() error {
		return checkGone(ctx, cp.Client, ready, xr, secret)
	})
	t.Logf("Claim, composite and Secret gone %s after the delete", time.Since(deleted).Round(time.Millisecond))
}

// checkGone returns nil if none of the objects exists any more.
func checkGone(ctx context.Context, c client.Client, objs ...client.Object) error {
	for _, o := range objs {
		key := client.ObjectKeyFromObject(o)
		if err := c.Get(ctx, key, o); !apierrors.IsNotFound(err) {
			return fmt.Errorf("%T %s still there (get: %v)", o, key, err)
		}
	}
	return nil
}

// compositeOf returns (a reference object for) the composite resource that
// the claim's spec.resourceRef names.
func compositeOf(t *testing.T, claim *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	name, _, _ := unstructured.NestedString(claim.Object, "spec", "resourceRef", "name")
	if name == "" {
		t.Fatalf("claim %s has no spec.resourceRef.name", claim.GetName())
	}
	xr := &unstructured.Unstructured{}
	xr.SetGroupVersionKind(schema.GroupVersionKind{Group: harness.ExampleGroup, Version: harness.ExampleVersion, Kind: harness.ExampleXRKind})
	xr.SetName(name)
	return xr
}

// checkConnectionSecret returns nil if the Secret holds every example
// connection key, with the example password.
func checkConnectionSecret(ctx context.Context, c client.Client, key client.ObjectKey) error {
	s := &corev1.Secret{}
	if err := c.Get(ctx, key, s); err != nil {
		return err
	}
	for _, k := range harness.ExampleConnectionKeys() {
		if len(s.Data[k]) == 0 {
			return fmt.Errorf("secret %s has no key %q (keys: %v)", key, k, keys(s.Data))
		}
	}
	if got := string(s.Data["password"]); got != harness.ExamplePassword {
		return fmt.Errorf("secret %s: password = %q, want %q", key, got, harness.ExamplePassword)
	}
	return nil
}

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
