package sync

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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

func TestWithConditionKeepsTransitionTime(t *testing.T) {
	local := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"conditions": []any{
		map[string]any{"type": condition.Type, "status": "True", "reason": condition.ReasonSynced, "message": "old", "lastTransitionTime": "2020-01-01T00:00:00Z"},
	}}}}
	local.SetGeneration(4)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	status := withCondition(map[string]any{}, local, syncedCondition(local), now)
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
	status = withCondition(map[string]any{}, local, falseCondition(condition.ReasonPushFailed, "x"), now)
	got = findCondition(&unstructured.Unstructured{Object: map[string]any{"status": status}}, condition.Type)
	if diff := cmp.Diff(now, got.LastTransitionTime.Time); diff != "" {
		t.Errorf("a changed condition must get a new transition time, now: -want, +got:\n%s", diff)
	}
}

func TestSameStatus(t *testing.T) {
	ready := map[string]any{"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": "2026-12-01T10:00:00Z"}
	ours := map[string]any{"type": condition.Type, "status": "True", "reason": condition.ReasonSynced, "observedGeneration": int64(2), "lastTransitionTime": "2026-12-01T10:00:00Z"}
	cases := map[string]struct {
		reason string
		a, b   map[string]any
		want   bool
	}{
		"Equal": {reason: "The same status.", a: map[string]any{"conditions": []any{ready, ours}}, b: map[string]any{"conditions": []any{ready, ours}}, want: true},
		"Order": {reason: "Conditions are a list keyed by type: their order means nothing.", a: map[string]any{"conditions": []any{ready, ours}}, b: map[string]any{"conditions": []any{ours, ready}}, want: true},
		"Numbers": {reason: "Numbers compare as the API server stores them.",
			a: map[string]any{"nodes": map[string]any{"ready": int64(2)}}, b: map[string]any{"nodes": map[string]any{"ready": float64(2)}}, want: true},
		"NilEmpty":       {reason: "No status is an empty status.", a: nil, b: map[string]any{}, want: true},
		"ConditionGone":  {reason: "A condition the control plane dropped is a difference.", a: map[string]any{"conditions": []any{ready, ours}}, b: map[string]any{"conditions": []any{ours}}, want: false},
		"FieldGone":      {reason: "A field the control plane dropped is a difference.", a: map[string]any{"address": "x", "conditions": []any{ours}}, b: map[string]any{"conditions": []any{ours}}, want: false},
		"ConditionValue": {reason: "A changed condition is a difference.", a: map[string]any{"conditions": []any{ready}}, b: map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "False"}}}, want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, sameStatus(tc.a, tc.b)); diff != "" {
				t.Errorf("%s\nsameStatus: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
