package sync

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestOwnedBy(t *testing.T) {
	u := &unstructured.Unstructured{}
	u.SetManagedFields([]metav1.ManagedFieldsEntry{
		{Manager: FieldManagerDown, Operation: metav1.ManagedFieldsOperationApply, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:resourceRef":{},"f:compositionRef":{},"f:compositeDeletePolicy":{}}}`)}},
		{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:nodes":{},"f:compositeDeletePolicy":{}}}`)}},
		{Manager: "mcp-connector", Subresource: "status", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:status":{}}`)}},
	})
	want := []string{"compositionRef", "resourceRef"}
	if diff := cmp.Diff(want, ownedBy(u, FieldManagerDown)); diff != "" {
		t.Errorf("ownedBy: fields shared with kubectl are not ours alone: -want, +got:\n%s", diff)
	}
}

func TestNeedsDown(t *testing.T) {
	cases := map[string]struct {
		reason      string
		local, down map[string]any
		fromCP      []string
		want        bool
	}{
		"Equal":   {reason: "Nothing to write.", local: map[string]any{"resourceRef": map[string]any{"name": "x"}}, down: map[string]any{"resourceRef": map[string]any{"name": "x"}}, want: false},
		"Missing": {reason: "resourceRef not yet local.", local: map[string]any{}, down: map[string]any{"resourceRef": map[string]any{"name": "x"}}, want: true},
		"Changed": {reason: "A changed value comes down.", local: map[string]any{"compositionRef": map[string]any{"name": "a"}}, down: map[string]any{"compositionRef": map[string]any{"name": "b"}}, fromCP: []string{"compositionRef"}, want: true},
		"Removed": {reason: "A field we wrote that the control plane dropped goes.", local: map[string]any{"compositionRevisionRef": map[string]any{"name": "a"}}, down: map[string]any{}, fromCP: []string{"compositionRevisionRef"}, want: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, needsDown(tc.local, tc.down, tc.fromCP)); diff != "" {
				t.Errorf("%s\nneedsDown: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
