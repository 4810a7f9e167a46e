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

	got := Status(gate, apis, map[string]int{condition.ClaimInSync: 3, condition.ClaimInConflict: 1}, nil)
	want := map[string]any{"inSync": int64(3), "stale": int64(0), "inConflict": int64(1), "pending": int64(0), "failing": int64(0), "deleting": int64(0)}
	if d := cmp.Diff(want, got["claims"]); d != "" {
		t.Errorf("claims (-want +got):\n%s", d)
	}
	if got["claimsSummary"] != "3 in sync, 0 stale, 1 in conflict" {
		t.Errorf("claimsSummary = %q", got["claimsSummary"])
	}

	// Counts not known now (a list failed): the last ones stay, so the
	// status does not flap and nothing is written for it.
	again := Status(gate, apis, nil, normalize(got))
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
