package sync

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mcp-connector/mcp-connector/sync/condition"
)

func TestMapGeneration(t *testing.T) {
	cases := map[string]struct {
		reason              string
		og                  any
		remoteGen, localGen int64
		want                int64
	}{
		"Current":        {reason: "A condition current remotely is current locally.", og: int64(3), remoteGen: 3, localGen: 1, want: 1},
		"Behind":         {reason: "A condition one generation behind stays one behind.", og: int64(2), remoteGen: 3, localGen: 5, want: 4},
		"FarBehind":      {reason: "Never below zero.", og: int64(1), remoteGen: 9, localGen: 2, want: 0},
		"Missing":        {reason: "No observedGeneration counts as current.", og: nil, remoteGen: 3, localGen: 2, want: 2},
		"Float":          {reason: "A float64 from a JSON decoder is read as a number.", og: float64(3), remoteGen: 3, localGen: 7, want: 7},
		"AheadOfRemote?": {reason: "A generation above the object's is treated as current.", og: int64(4), remoteGen: 3, localGen: 2, want: 2},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, mapGeneration(tc.og, tc.remoteGen, tc.localGen)); diff != "" {
				t.Errorf("%s\nmapGeneration(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

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

func TestWithConditionKeepsTransitionTime(t *testing.T) {
	local := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"conditions": []any{
		map[string]any{"type": condition.Type, "status": "True", "reason": "Synced", "message": "old", "lastTransitionTime": "2020-01-01T00:00:00Z"},
	}}}}
	local.SetGeneration(4)
	status := withCondition(map[string]any{}, local, syncedCondition(local))
	got := findCondition(&unstructured.Unstructured{Object: map[string]any{"status": status}}, condition.Type)
	if got == nil {
		t.Fatal("condition missing")
	}
	if diff := cmp.Diff("2020-01-01T00:00:00Z", got.LastTransitionTime.UTC().Format("2006-01-02T15:04:05Z")); diff != "" {
		t.Errorf("an unchanged condition must keep its transition time: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(int64(4), got.ObservedGeneration); diff != "" {
		t.Errorf("observedGeneration: -want, +got:\n%s", diff)
	}
	status = withCondition(map[string]any{}, local, falseCondition("PushFailed", "x"))
	got = findCondition(&unstructured.Unstructured{Object: map[string]any{"status": status}}, condition.Type)
	if got.LastTransitionTime.Year() == 2020 {
		t.Errorf("a changed condition must get a new transition time")
	}
}
