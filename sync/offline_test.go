package sync

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/sync/controlplane"
)

// TestOfflineStatus: the copied Ready and Synced conditions turn Unknown
// after the stale period of an outage, at once when the namespace was
// deleted, and never for a control plane that answers and refuses.
func TestOfflineStatus(t *testing.T) {
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type want struct{ Ready, ReadyReason, Ours, OursReason string }
	cases := map[string]struct {
		reason string
		gate   controlplane.GateState
		after  time.Duration
		want   want
	}{
		"OutageFresh": {
			reason: "An outage shorter than the stale period keeps the last known Ready.",
			gate:   controlplane.GateState{Reason: condition.ReasonUnreachable, Since: since},
			after:  time.Minute,
			want:   want{"True", "Available", "False", condition.ReasonUnreachable},
		},
		"OutageStale": {
			reason: "An outage longer than the stale period marks Ready Unknown.",
			gate:   controlplane.GateState{Reason: condition.ReasonUnreachable, Since: since},
			after:  10 * time.Minute,
			want:   want{"Unknown", condition.ReasonUnreachable, "False", condition.ReasonUnreachable},
		},
		"NamespaceDeletedAtOnce": {
			reason: "A deleted namespace marks Ready Unknown at once, though the control plane answers.",
			gate:   controlplane.GateState{Reachable: true, Reason: condition.ReasonNamespaceDeleted, Since: since},
			after:  time.Second,
			want:   want{"Unknown", condition.ReasonNamespaceDeleted, "False", condition.ReasonNamespaceDeleted},
		},
		"ClusterIDInUseKept": {
			reason: "Another connector with our cluster id syncs the claims: the last known state is kept.",
			gate:   controlplane.GateState{Reachable: true, Reason: condition.ReasonClusterIDInUse, Since: since},
			after:  time.Hour,
			want:   want{"True", "Available", "False", condition.ReasonClusterIDInUse},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			now := since.Add(tc.after)
			r := &reconciler{cfg: Config{StalePeriod: 5 * time.Minute}, now: func() time.Time { return now }}
			local := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"conditions": []any{
				map[string]any{"type": "Ready", "status": "True", "reason": "Available"},
			}}}}
			status := r.offlineStatus(local, tc.gate)
			got := want{}
			conds, _, _ := unstructured.NestedSlice(status, "conditions")
			for _, raw := range conds {
				m := raw.(map[string]any)
				switch m["type"] {
				case "Ready":
					got.Ready, got.ReadyReason = m["status"].(string), m["reason"].(string)
				case condition.Type:
					got.Ours, got.OursReason = m["status"].(string), m["reason"].(string)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n-want +got:\n%s", tc.reason, diff)
			}
		})
	}
}
