package sync

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// TestForgetExpired: a copy of our write that no pass came back for goes
// after justCreatedTTL; a fresh one stays.
func TestForgetExpired(t *testing.T) {
	now := time.Unix(1000, 0)
	r := &reconciler{now: func() time.Time { return now }}
	r.rememberCreated("secret/a/old", &corev1.Secret{})
	now = now.Add(justCreatedTTL / 2)
	r.rememberCreated("secret/a/new", &corev1.Secret{})
	now = now.Add(justCreatedTTL/2 + time.Second)
	r.forgetExpired()
	var left []string
	r.justCreated.Range(func(k, _ any) bool { left = append(left, k.(string)); return true })
	if len(left) != 1 || left[0] != "secret/a/new" {
		t.Errorf("entries left after forgetExpired: %v, want only secret/a/new", left)
	}
}

// TestCreatedEchoForgetsTheCopy: the add event that answers our create drops
// the copy kept for a lagging cache; another version of the object keeps it.
func TestCreatedEchoForgetsTheCopy(t *testing.T) {
	now := time.Unix(1000, 0)
	r := &reconciler{now: func() time.Time { return now }}
	mine := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "s", UID: "u1", ResourceVersion: "7"}}
	key := secretKey(client.ObjectKeyFromObject(mine))
	r.rememberCreated(key, mine.DeepCopy())

	other := mine.DeepCopy()
	other.ResourceVersion = "8"
	if r.isSecretCreatedEcho(other) {
		t.Error("an add event of another version is taken for the echo of our create")
	}
	if _, ok := r.justCreated.Load(key); !ok {
		t.Fatal("the copy of our create is gone after an add event of another version, want kept")
	}
	if !r.isSecretCreatedEcho(mine.DeepCopy()) {
		t.Error("the add event of our create is not taken for its echo")
	}
	if _, ok := r.justCreated.Load(key); ok {
		t.Error("the copy of our create is kept after its echo, want dropped: the cache holds the object")
	}
}

// TestRememberedCreateAsCached: what is kept of a create is the claim as the
// cache holds it (packed), reads back whole, and leaves the created object
// as it was.
func TestRememberedCreateAsCached(t *testing.T) {
	r := &reconciler{now: time.Now}
	want := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.org/v1", "kind": "Database",
		"metadata": map[string]any{
			"namespace": "cp", "name": "db-1", "uid": "u1", "resourceVersion": "7",
			"labels": map[string]any{conflict.LabelClusterID: "c1"},
		},
		"spec": map[string]any{"size": int64(3), "ratio": float64(2)},
	}}
	before := want.DeepCopy()
	key := remoteKey(client.ObjectKeyFromObject(want))
	r.rememberCreated(key, asCached(want))

	v, _ := r.justCreated.Load(key)
	if _, packed := v.(created).obj.(*packedClaim); !packed {
		t.Errorf("the remembered create is a %T, want it packed as the cache holds it", v.(created).obj)
	}
	if diff := cmp.Diff(before.Object, want.Object); diff != "" {
		t.Errorf("the created object changed by remembering it: -before, +after:\n%s", diff)
	}
	obj, ok := r.recalled(key)
	if !ok {
		t.Fatal("the remembered create is not recalled")
	}
	got := obj.(*unstructured.Unstructured)
	if diff := cmp.Diff(before.Object["spec"], got.Object["spec"]); diff != "" {
		t.Errorf("spec of the recalled create: -want, +got:\n%s", diff)
	}
	if got.GetUID() != "u1" || got.GetResourceVersion() != "7" || got.GetLabels()[conflict.LabelClusterID] != "c1" {
		t.Errorf("the recalled create is %s/%s uid %s rv %s labels %v, want the created object's", got.GetNamespace(), got.GetName(), got.GetUID(), got.GetResourceVersion(), got.GetLabels())
	}
}
