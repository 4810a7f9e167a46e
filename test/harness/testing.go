package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var notDNSLabel = regexp.MustCompile(`[^a-z0-9-]+`)

// NewNamespace creates a namespace named after the test plus a random
// suffix, and deletes it when the test ends.
func NewNamespace(t testing.TB, c client.Client) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespaceName(t.Name())}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace %s: %v", ns.Name, err)
	}
	t.Cleanup(func() {
		if err := c.Delete(context.Background(), ns); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", ns.Name, err)
		}
	})
	return ns.Name
}

// namespaceName turns a test name into a DNS label with a random suffix.
func namespaceName(testName string) string {
	base := strings.Trim(notDNSLabel.ReplaceAllString(strings.ToLower(testName), "-"), "-")
	if len(base) > 50 {
		base = strings.TrimRight(base[:50], "-")
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return base + "-" + hex.EncodeToString(b)
}

// Eventually calls f every 50 ms until it returns nil, and fails the test
// with f's last error if that has not happened within timeout.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	if err := Poll(context.Background(), timeout, f); err != nil {
		t.Fatal(err)
	}
}

// WaitForObject polls the object of kind gvk at key until check accepts it,
// and returns it. A missing object is one more reason to wait.
func WaitForObject(t testing.TB, c client.Client, gvk schema.GroupVersionKind, key client.ObjectKey, timeout time.Duration, check func(*unstructured.Unstructured) error) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	Eventually(t, timeout, func() error {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(gvk)
		if err := c.Get(context.Background(), key, got); err != nil {
			return err
		}
		if err := check(got); err != nil {
			return err
		}
		u = got
		return nil
	})
	return u
}

// WaitForReadyClaim waits until the claim of kind gvk at key is Ready=True
// and Synced=True for its current generation, and returns it.
func WaitForReadyClaim(t testing.TB, c client.Client, gvk schema.GroupVersionKind, key client.ObjectKey, timeout time.Duration) *unstructured.Unstructured {
	t.Helper()
	return WaitForObject(t, c, gvk, key, timeout, func(u *unstructured.Unstructured) error {
		if err := CheckCondition(u, "Synced", "True"); err != nil {
			return err
		}
		return CheckCondition(u, "Ready", "True")
	})
}
