package connection

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/sync/controlplane"
)

func TestConnectionStatusClaims(t *testing.T) {
	gate := controlplane.GateState{Open: true, Reachable: true, Reason: condition.ReasonReady, Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	apis := []APIState{{Name: "kubernetesclusters.k8s.starter.org", Kind: "KubernetesCluster", Version: "v1alpha1", State: StateMirrored}}

	got := Status(gate, apis, true, map[string]int{condition.ClaimInSync: 3, condition.ClaimInConflict: 1}, nil)
	want := map[string]any{"inSync": int64(3), "stale": int64(0), "inConflict": int64(1), "pending": int64(0), "failing": int64(0), "deleting": int64(0)}
	if d := cmp.Diff(want, got["claims"]); d != "" {
		t.Errorf("claims (-want +got):\n%s", d)
	}
	if got["claimsSummary"] != "3 in sync, 0 stale, 1 in conflict" {
		t.Errorf("claimsSummary = %q", got["claimsSummary"])
	}

	// Counts not known now (a list failed): the last ones stay, so the
	// status does not flap and nothing is written for it.
	again := Status(gate, apis, true, nil, normalize(got))
	if d := cmp.Diff(normalize(got), normalize(again)); d != "" {
		t.Errorf("status changed when the counts were unknown (-before +after):\n%s", d)
	}
}

func TestClaimKey(t *testing.T) {
	for state, want := range map[string]string{condition.ClaimInSync: "inSync", condition.ClaimInConflict: "inConflict", condition.ClaimStale: "stale"} {
		if got := claimKey(state); got != want {
			t.Errorf("claimKey(%q) = %q, want %q", state, got, want)
		}
	}
}

// Before the mirror has listed the control plane's XRDs, no API is known:
// the Connection does not say every API is mirrored (install would report
// "0 APIs mirrored" and stop waiting). Once listed, an XRD not looked at
// yet is pending, and one looked at keeps its state.
func TestAPIsMirroredWaitsForTheList(t *testing.T) {
	gate := controlplane.GateState{Open: true, Reachable: true, Reason: condition.ReasonReady}
	mirroredCond := func(st map[string]any) map[string]any {
		for _, c := range st["conditions"].([]any) {
			if c := c.(map[string]any); c["type"] == ConditionMirrored {
				return c
			}
		}
		t.Fatalf("no %s condition in %v", ConditionMirrored, st)
		return nil
	}
	s := NewStates()
	if c := mirroredCond(Status(gate, s.List(), s.HaveListed(), nil, nil)); c["status"] != "False" || c["reason"] != "NotListed" {
		t.Errorf("before the list: %s = %v, want False, NotListed", ConditionMirrored, c)
	}

	s.Set(APIState{Name: "databases.example.org", XRD: "xdatabases.example.org", State: StateMirrored})
	s.Listed([]APIState{
		{Name: "databases.example.org", XRD: "xdatabases.example.org"},
		{Name: "caches.example.org", XRD: "xcaches.example.org"},
	})
	got := map[string]string{}
	for _, a := range s.List() {
		got[a.XRD] = a.State
	}
	if want := map[string]string{"xdatabases.example.org": StateMirrored, "xcaches.example.org": StatePending}; !cmp.Equal(want, got) {
		t.Errorf("states after the list = %v, want %v", got, want)
	}
	if c := mirroredCond(Status(gate, s.List(), s.HaveListed(), nil, nil)); c["status"] != "False" || c["reason"] != "NotAllMirrored" {
		t.Errorf("one API pending: %s = %v, want False, NotAllMirrored", ConditionMirrored, c)
	}

	s.Set(APIState{Name: "caches.example.org", XRD: "xcaches.example.org", State: StateMirrored})
	if c := mirroredCond(Status(gate, s.List(), s.HaveListed(), nil, nil)); c["status"] != "True" {
		t.Errorf("all mirrored: %s = %v, want True", ConditionMirrored, c)
	}
	empty := NewStates()
	empty.Listed(nil)
	if c := mirroredCond(Status(gate, empty.List(), empty.HaveListed(), nil, nil)); c["status"] != "True" {
		t.Errorf("listed, the control plane offers none: %s = %v, want True", ConditionMirrored, c)
	}
}
