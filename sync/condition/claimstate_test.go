package condition

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClaimState(t *testing.T) {
	cases := map[string]string{
		"Synced":                      ClaimInSync,
		"ControlPlaneUnreachable":     ClaimStale,
		"Starting":                    ClaimStale,
		"NamespaceHeldByOtherCluster": ClaimStale,
		"NamespaceDeleted":            ClaimStale,
		"ClusterIDInUse":              ClaimStale,
		"ForeignObject":               ClaimInConflict,
		"OwnedByOtherCluster":         ClaimInConflict,
		"NameCollision":               ClaimInConflict,
		"OwnedByOtherCopy":            ClaimInConflict,
		"SecretConflict":              ClaimInConflict,
		"PushFailed":                  ClaimFailing,
		"RemoteDeleted":               ClaimFailing,
		"Deleting":                    ClaimDeleting,
		"":                            ClaimPending,
	}
	for reason, want := range cases {
		t.Run("Reason"+reason, func(t *testing.T) {
			if got := ClaimState(reason); got != want {
				t.Errorf("ClaimState(%q) = %q, want %q", reason, got, want)
			}
		})
	}
}

func TestSummarizeClaims(t *testing.T) {
	cases := map[string]struct {
		counts map[string]int
		want   string
	}{
		"None":     {counts: map[string]int{}, want: "0 in sync, 0 stale, 0 in conflict"},
		"Mixed":    {counts: map[string]int{ClaimInSync: 3, ClaimInConflict: 1, ClaimFailing: 2}, want: "3 in sync, 0 stale, 1 in conflict, 2 failing"},
		"Deleting": {counts: map[string]int{ClaimDeleting: 1}, want: "0 in sync, 0 stale, 0 in conflict, 1 deleting"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, SummarizeClaims(tc.counts)); diff != "" {
				t.Errorf("SummarizeClaims (-want +got):\n%s", diff)
			}
		})
	}
}
