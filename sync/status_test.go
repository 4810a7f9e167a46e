package sync

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/sync/controlplane"
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

func TestBlip(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	unreachable := controlplane.GateState{Reason: condition.ReasonUnreachable, Since: now.Add(-time.Second)}
	cases := map[string]struct {
		reason string
		gate   controlplane.GateState
		want   bool
	}{
		"Fresh":     {reason: "An outage shorter than the grace writes nothing.", gate: unreachable, want: true},
		"Long":      {reason: "After the grace the claims say so.", gate: controlplane.GateState{Reason: condition.ReasonUnreachable, Since: now.Add(-unreachableGrace)}},
		"Answering": {reason: "A control plane that answers no is not a blip.", gate: controlplane.GateState{Reachable: true, Reason: condition.ReasonNamespaceHeld, Since: now}},
		"Starting":  {reason: "Before the first probe the claims say so at once.", gate: controlplane.GateState{Reason: condition.ReasonStarting, Since: now}},
		"Open":      {reason: "An open gate is no outage.", gate: controlplane.GateState{Open: true, Reachable: true, Reason: condition.ReasonReady, Since: now}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := blip(tc.gate, now); got != tc.want {
				t.Errorf("%s\nblip(...) = %v, want %v", tc.reason, got, tc.want)
			}
		})
	}
}

func TestOfflineStatusKeepsMessage(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &reconciler{now: func() time.Time { return now }, cfg: Config{StalePeriod: time.Hour}}
	local := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"conditions": []any{
		map[string]any{"type": condition.Type, "status": "False", "reason": condition.ReasonUnreachable, "message": "control plane unreachable: first error",
			"lastTransitionTime": "2025-12-31T23:59:00Z"},
	}}}}
	gate := controlplane.GateState{Reason: condition.ReasonUnreachable, Message: "control plane unreachable: another error", Since: now.Add(-time.Minute)}
	c := findCondition(&unstructured.Unstructured{Object: map[string]any{"status": r.offlineStatus(local, gate)}}, condition.Type)
	if c == nil || c.Message != "control plane unreachable: first error" {
		t.Errorf("our condition during one outage = %+v, want the message it had (no rewrite for another error text)", c)
	}
}

// conditionOf reads a condition as the unstructured converter does.
func TestConditionOf(t *testing.T) {
	cases := map[string]struct {
		m      map[string]any
		refuse bool
	}{
		"Full": {m: map[string]any{"type": "Ready", "status": "True", "reason": "Available", "message": "ok",
			"observedGeneration": int64(3), "lastTransitionTime": "2026-12-01T10:00:00Z"}},
		"FloatGeneration": {m: map[string]any{"type": "Ready", "status": "False", "observedGeneration": float64(2)}},
		"Sparse":          {m: map[string]any{"type": "Synced"}},
		"NullTime":        {m: map[string]any{"type": "Synced", "lastTransitionTime": nil}},
		"BadTime":         {m: map[string]any{"type": "Synced", "lastTransitionTime": "yesterday"}, refuse: true},
		"BadStatus":       {m: map[string]any{"type": "Synced", "status": true}, refuse: true},
		"BadGeneration":   {m: map[string]any{"type": "Synced", "observedGeneration": "3"}, refuse: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := conditionOf(tc.m)
			if tc.refuse {
				if got != nil {
					t.Errorf("conditionOf(%v) = %+v, want nil", tc.m, got)
				}
				return
			}
			want := &metav1.Condition{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tc.m, want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("conditionOf(%v): -converter, +got:\n%s", tc.m, diff)
			}
		})
	}
}

// sameStatus takes statuses equal as JSON whether or not they went through
// a JSON round trip, and conditions in any order.
func TestSameStatusWithoutRoundTrip(t *testing.T) {
	cond := func(typ string, gen any) map[string]any {
		return map[string]any{"type": typ, "status": "True", "observedGeneration": gen}
	}
	cases := map[string]struct {
		a, b map[string]any
		want bool
	}{
		"Equal":       {a: map[string]any{"conditions": []any{cond("A", int64(1))}}, b: map[string]any{"conditions": []any{cond("A", int64(1))}}, want: true},
		"Numbers":     {a: map[string]any{"conditions": []any{cond("A", int64(1))}}, b: map[string]any{"conditions": []any{cond("A", float64(1))}}, want: true},
		"Order":       {a: map[string]any{"conditions": []any{cond("A", int64(1)), cond("B", int64(1))}}, b: map[string]any{"conditions": []any{cond("B", int64(1)), cond("A", int64(1))}}, want: true},
		"NilAndEmpty": {a: nil, b: map[string]any{}, want: true},
		"Typed":       {a: map[string]any{"n": 1}, b: map[string]any{"n": int64(1)}, want: true},
		"Differ":      {a: map[string]any{"conditions": []any{cond("A", int64(1))}}, b: map[string]any{"conditions": []any{cond("A", int64(2))}}, want: false},
		"Missing":     {a: map[string]any{"x": "y"}, b: map[string]any{}, want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, sameStatus(tc.a, tc.b)); diff != "" {
				t.Errorf("sameStatus(%v, %v): -want, +got:\n%s", tc.a, tc.b, diff)
			}
		})
	}
}

// TestJustWroteStatus: a pass on a cache that does not show our last status
// write yet writes the same status again only if it differs from what we
// wrote, our condition's transition time aside; once the cache shows the
// write, or a later version, the record goes.
func TestJustWroteStatus(t *testing.T) {
	now := time.Unix(1000, 0)
	r := &reconciler{now: func() time.Time { return now }}
	claim := func(rv string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{}}
		u.SetUID("u1")
		u.SetResourceVersion(rv)
		return u
	}
	status := func(ready, transition string) map[string]any {
		return map[string]any{
			"conditions": []any{
				map[string]any{"type": typeReady, "status": ready, "reason": "Available", "lastTransitionTime": "2026-12-01T10:00:00Z"},
				map[string]any{"type": condition.Type, "status": "True", "reason": condition.ReasonSynced, "observedGeneration": int64(2), "lastTransitionTime": transition},
			},
			"atProvider": map[string]any{"replicas": int64(3)},
		}
	}
	wrote := status("True", "2026-12-01T10:00:00Z")
	r.rememberStatus(claim("10"), claim("11"), wrote)

	reordered := status("True", "2026-12-01T10:00:05Z")
	conds := reordered["conditions"].([]any)
	conds[0], conds[1] = conds[1], conds[0]
	cases := []struct {
		name   string
		rv     string
		status map[string]any
		want   bool
	}{
		{"SameOnTheVersionItReplaced", "10", status("True", "2026-12-01T10:00:00Z"), true},
		{"OurTransitionTimeAside", "10", status("True", "2026-12-01T10:00:09Z"), true},
		{"ConditionsInAnotherOrder", "10", reordered, true},
		{"NumbersAsJSONDecodesThem", "10", normalize(wrote), true},
		{"AnotherStatus", "10", status("False", "2026-12-01T10:00:00Z"), false},
		{"AnotherField", "10", func() map[string]any {
			s := status("True", "2026-12-01T10:00:00Z")
			s["atProvider"] = map[string]any{"replicas": int64(4)}
			return s
		}(), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.justWrote(claim(tc.rv), tc.status); got != tc.want {
				t.Errorf("justWrote on version %s = %v, want %v", tc.rv, got, tc.want)
			}
		})
	}

	// A second write, computed on a cache that still showed version 10,
	// supersedes the version the first write made as well.
	r.rememberStatus(claim("10"), claim("12"), status("False", "2026-12-01T10:01:00Z"))
	for _, rv := range []string{"10", "11"} {
		if !r.justWrote(claim(rv), status("False", "2026-12-01T10:01:00Z")) {
			t.Errorf("justWrote on version %s after a second write = false, want true: the cache lags behind both", rv)
		}
	}
	if r.justWrote(claim("12"), status("False", "2026-12-01T10:01:00Z")) {
		t.Error("justWrote on the version our write made = true, want false: the cache shows the write")
	}
	if _, ok := r.wroteStatus.Load(types.UID("u1")); ok {
		t.Error("the record of our write is kept after the cache showed it, want dropped")
	}

	r.rememberStatus(claim("12"), claim("13"), wrote)
	now = now.Add(justCreatedTTL + time.Second)
	if r.justWrote(claim("12"), wrote) {
		t.Error("justWrote after justCreatedTTL = true, want false")
	}
}
