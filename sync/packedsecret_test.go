package sync

import (
	"bytes"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func connectionSecret(name string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "cp", Name: name, UID: types.UID("uid-" + name), ResourceVersion: "41",
			CreationTimestamp: metav1.Unix(1700000000, 0),
			Labels:            map[string]string{"app": "db"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "example.org/v1", Kind: "Database", Name: "db-" + name, UID: types.UID("owner-" + name),
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "crossplane", Operation: metav1.ManagedFieldsOperationUpdate}},
		},
		Type: "connection.crossplane.io/v1alpha1",
		Data: map[string][]byte{"username": []byte("admin"), "password": []byte("s3cret")},
	}
}

// TestPackedSecret: the control-plane cache holds a connection Secret
// packed; what a read returns, and what the handlers and the stores read
// of it, is the Secret without its managedFields.
func TestPackedSecret(t *testing.T) {
	in := connectionSecret("a")
	want := in.DeepCopy()
	want.ManagedFields = nil
	p := packedByTransform(t, TransformControlPlane, in)
	got, ok := p.DeepCopyObject().(*corev1.Secret)
	if !ok {
		t.Fatalf("a read of the packed Secret is a %T, want a *corev1.Secret", p.DeepCopyObject())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("a read of the packed Secret: -want, +got:\n%s", diff)
	}

	// What the stores' keys and the handlers read.
	if p.GetNamespace() != "cp" || p.GetName() != "a" || p.GetUID() != "uid-a" || p.GetResourceVersion() != "41" {
		t.Errorf("packed Secret is %s/%s uid %s rv %s, want cp/a uid uid-a rv 41", p.GetNamespace(), p.GetName(), p.GetUID(), p.GetResourceVersion())
	}
	if owner := metav1.GetControllerOf(p); owner == nil || owner.Name != "db-a" || owner.Kind != "Database" {
		t.Errorf("the packed Secret's controller is %v, want the Database db-a", owner)
	}
	if diff := cmp.Diff(want.Labels, p.GetLabels()); diff != "" {
		t.Errorf("labels of the packed Secret: -want, +got:\n%s", diff)
	}

	// Reads are the reader's own.
	got.Data["password"][0] = 'X'
	got.Labels["app"] = "changed"
	got.OwnerReferences[0].Name = "changed"
	*got.OwnerReferences[0].Controller = false
	if again := p.DeepCopyObject().(*corev1.Secret); !cmp.Equal(want, again) {
		t.Error("a change to one read shows in the next read")
	}

	// The reflector may transform an object twice: the second time keeps it.
	raw, buf := slices.Clone(p.raw), &p.raw[0]
	if again, err := TransformControlPlane(p); err != nil || again != any(p) || !bytes.Equal(raw, p.raw) || buf != &p.raw[0] {
		t.Errorf("the control-plane transform again: %p, %v, changed %v, packed again %v; want the same Secret, untouched", again, err, !bytes.Equal(raw, p.raw), buf != &p.raw[0])
	}

	// Repeating values are held once.
	q := packedByTransform(t, TransformControlPlane, connectionSecret("b"))
	if !sameString(p.GetNamespace(), q.GetNamespace()) {
		t.Errorf("namespace %q: two copies, want one shared", p.GetNamespace())
	}

	// A setter keeps its meaning.
	p.SetLabels(map[string]string{"x": "1"})
	if l := p.DeepCopyObject().(*corev1.Secret).Labels; !cmp.Equal(l, map[string]string{"x": "1"}) || p.GetName() != "a" || p.GetResourceVersion() != "41" {
		t.Errorf("after SetLabels: labels %v, name %q, rv %q; want the new labels, the rest kept", l, p.GetName(), p.GetResourceVersion())
	}
	p.SetResourceVersion("42")
	if p.GetResourceVersion() != "42" || p.DeepCopyObject().(*corev1.Secret).ResourceVersion != "42" {
		t.Errorf("after SetResourceVersion(42): %q", p.GetResourceVersion())
	}
}

// packedByTransform is what a cache with transform holds of s: the
// transform must pack it.
func packedByTransform(t *testing.T, transform func(any) (any, error), s *corev1.Secret) *packedSecret {
	t.Helper()
	obj, err := transform(s)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := obj.(*packedSecret)
	if !ok {
		t.Fatalf("the transform holds a Secret as %T, want packed", obj)
	}
	return p
}
