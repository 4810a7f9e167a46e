package sync

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mcp-connector/mcp-connector/conflict"
)

func TestTransformControlPlane(t *testing.T) {
	entries := func() []metav1.ManagedFieldsEntry {
		return []metav1.ManagedFieldsEntry{
			{Manager: "crossplane", Operation: metav1.ManagedFieldsOperationUpdate, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:finalizers":{}},"f:spec":{"f:region":{}}}`)}},
			{Manager: "crossplane", Subresource: "status", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:status":{}}`)}},
			{Manager: FieldManagerUp, Operation: metav1.ManagedFieldsOperationApply, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:labels":{}}}`)}},
		}
	}
	claim := &unstructured.Unstructured{}
	claim.SetLabels(map[string]string{conflict.LabelClusterID: "app-1"})
	claim.SetManagedFields(entries())
	if _, err := TransformControlPlane(claim); err != nil {
		t.Fatal(err)
	}
	want := []metav1.ManagedFieldsEntry{{Manager: "crossplane", Operation: metav1.ManagedFieldsOperationUpdate, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:region":{}}}`)}}}
	if diff := cmp.Diff(want, claim.GetManagedFields()); diff != "" {
		t.Errorf("our remote claim keeps the spec part of its main-resource entries only: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(conflict.Owners{"crossplane": {{"region"}}}, specOwners(claim)); diff != "" {
		t.Errorf("specOwners after the transform: -want, +got:\n%s", diff)
	}
	other := &unstructured.Unstructured{}
	other.SetManagedFields(entries())
	secret := &corev1.Secret{}
	secret.SetManagedFields(entries())
	for _, obj := range []metav1.Object{other, secret} {
		if _, err := TransformControlPlane(obj); err != nil {
			t.Fatal(err)
		}
		if got := obj.GetManagedFields(); got != nil {
			t.Errorf("%T without our cluster id keeps managed fields %v, want none", obj, got)
		}
	}
}
