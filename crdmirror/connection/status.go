package connection

import (
	"encoding/json"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/sync/controlplane"
)

// Status computes the Connection status from the gate, the API
// states, whether the mirror has listed the control plane's XRDs yet (listed)
// and the local claims counted by condition.ClaimState (nil: not known now,
// the old counts stay). old is the current status: condition transition
// times are kept when a condition did not change, so the result is stable.
// APIsMirrored is never true before the XRDs were listed: no API seen yet is
// not every API mirrored.
func Status(gate controlplane.GateState, apis []APIState, listed bool, claims map[string]int, old map[string]any) map[string]any {
	counts := map[string]int{}
	list := make([]any, 0, len(apis))
	for _, a := range apis {
		counts[a.State]++
		m := map[string]any{}
		b, _ := json.Marshal(a)
		_ = json.Unmarshal(b, &m)
		list = append(list, m)
	}
	summary := fmt.Sprintf("%d mirrored", counts[StateMirrored])
	for _, s := range []string{StatePending, StateRefused, StateWithdrawn} {
		if counts[s] > 0 {
			summary += fmt.Sprintf(", %d %s", counts[s], lower(s))
		}
	}
	reachable := cond(ConditionReachable, gate.Reachable, reachReason(gate), gate.Message)
	ready := cond(ConditionReady, gate.Open, gate.Reason, gate.Message)
	mirrored := cond(ConditionMirrored, listed && counts[StateRefused]+counts[StatePending]+counts[StateWithdrawn] == 0,
		"AllMirrored", "every claim API the control plane offers is mirrored")
	switch {
	case !listed:
		mirrored.Reason, mirrored.Message = "NotListed", "the control plane's APIs have not been listed yet"
	case mirrored.Status != metav1.ConditionTrue:
		mirrored.Reason, mirrored.Message = "NotAllMirrored", summary+"; see status.apis"
	}
	status := map[string]any{
		"apis":    list,
		"summary": summary,
		"controlPlane": map[string]any{
			"reachable": gate.Reachable, "reason": gate.Reason, "since": gate.Since.UTC().Format(time.RFC3339),
		},
	}
	if !gate.LastContact.IsZero() && !gate.Reachable {
		status["controlPlane"].(map[string]any)["lastContact"] = gate.LastContact.UTC().Format(time.RFC3339)
	}
	if claims != nil {
		counts := map[string]any{}
		for _, st := range condition.ClaimStates {
			counts[claimKey(st)] = int64(claims[st])
		}
		status["claims"] = counts
		status["claimsSummary"] = condition.SummarizeClaims(claims)
	} else if old != nil {
		for _, k := range []string{"claims", "claimsSummary"} {
			if v, ok := old[k]; ok {
				status[k] = v
			}
		}
	}
	oldConds, _, _ := unstructured.NestedSlice(old, "conditions")
	conds := make([]any, 0, 3)
	// The gate's conditions changed when the gate did; Mirrored changes now.
	conds = append(conds, keepTransition(ready, oldConds, gate.Since), keepTransition(reachable, oldConds, gate.Since),
		keepTransition(mirrored, oldConds, time.Now()))
	status["conditions"] = conds
	return status
}

// claimKey turns a claim state ("in conflict") into a status key
// ("inConflict").
func claimKey(state string) string {
	out := []byte{}
	upper := false
	for i := 0; i < len(state); i++ {
		switch c := state[i]; {
		case c == ' ':
			upper = true
		case upper && c >= 'a' && c <= 'z':
			out, upper = append(out, c-'a'+'A'), false
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

func lower(s string) string {
	b := []byte(s)
	if len(b) > 0 && b[0] >= 'A' && b[0] <= 'Z' {
		b[0] += 'a' - 'A'
	}
	return string(b)
}

func reachReason(g controlplane.GateState) string {
	if g.Reachable {
		return "Reachable"
	}
	return g.Reason
}

func cond(typ string, ok bool, reason, msg string) metav1.Condition {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	return metav1.Condition{Type: typ, Status: s, Reason: reason, Message: msg}
}

// keepTransition renders a condition, keeping the old transition time when
// status and reason are unchanged, else using now.
func keepTransition(c metav1.Condition, old []any, now time.Time) map[string]any {
	t := now.UTC().Format(time.RFC3339)
	for _, raw := range old {
		m, ok := raw.(map[string]any)
		if ok && m["type"] == c.Type && m["status"] == string(c.Status) && m["reason"] == c.Reason {
			if s, ok := m["lastTransitionTime"].(string); ok {
				t = s
			}
		}
	}
	return map[string]any{"type": c.Type, "status": string(c.Status), "reason": c.Reason, "message": c.Message, "lastTransitionTime": t}
}

// normalize round-trips through JSON so comparisons see stored values.
func normalize(v map[string]any) map[string]any {
	out := map[string]any{}
	if v == nil {
		return out
	}
	b, err := json.Marshal(v)
	if err != nil || json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}
