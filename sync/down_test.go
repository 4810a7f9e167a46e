package sync

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mcp-connector/mcp-connector/conflict"
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
	top := func(names ...string) []conflict.Path {
		var out []conflict.Path
		for _, n := range names {
			out = append(out, conflict.Path{n})
		}
		return out
	}
	cases := map[string]struct {
		reason        string
		local, down   map[string]any
		paths, fromCP []conflict.Path
		want          bool
	}{
		"Equal":   {reason: "Nothing to write.", local: map[string]any{"resourceRef": map[string]any{"name": "x"}}, down: map[string]any{"resourceRef": map[string]any{"name": "x"}}, paths: top("resourceRef"), want: false},
		"Missing": {reason: "resourceRef not yet local.", local: map[string]any{}, down: map[string]any{"resourceRef": map[string]any{"name": "x"}}, paths: top("resourceRef"), want: true},
		"Changed": {reason: "A changed value comes down.", local: map[string]any{"compositionRef": map[string]any{"name": "a"}}, down: map[string]any{"compositionRef": map[string]any{"name": "b"}}, paths: top("compositionRef"), fromCP: top("compositionRef"), want: true},
		"Removed": {reason: "A field we wrote that the control plane dropped goes.", local: map[string]any{"compositionRevisionRef": map[string]any{"name": "a"}}, down: map[string]any{}, fromCP: top("compositionRevisionRef"), want: true},
		"NestedEqual": {reason: "A Crossplane write inside a user object that is already local: nothing to write.",
			local: map[string]any{"parameters": map[string]any{"size": "s", "zone": "z"}}, down: map[string]any{"parameters": map[string]any{"zone": "z"}},
			paths: []conflict.Path{{"parameters", "zone"}}, fromCP: []conflict.Path{{"parameters", "zone"}}, want: false},
		"NestedMissing": {reason: "A Crossplane write inside a user object comes down; the user's values beside it do not count.",
			local: map[string]any{"parameters": map[string]any{"size": "s"}}, down: map[string]any{"parameters": map[string]any{"zone": "z"}},
			paths: []conflict.Path{{"parameters", "zone"}}, want: true},
		"NestedRemoved": {reason: "A nested value that came down and is no longer Crossplane's goes.",
			local: map[string]any{"parameters": map[string]any{"size": "s", "zone": "z"}}, down: map[string]any{},
			fromCP: []conflict.Path{{"parameters", "zone"}}, want: true},
		"NestedInsideDown": {reason: "A value that came down inside one that still comes down is covered.",
			local: map[string]any{"derived": map[string]any{"a": "1"}}, down: map[string]any{"derived": map[string]any{"a": "1"}},
			paths: top("derived"), fromCP: []conflict.Path{{"derived", "a"}}, want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, needsDown(tc.local, tc.down, tc.paths, tc.fromCP)); diff != "" {
				t.Errorf("%s\nneedsDown: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
