package controlplane

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcp-connector/mcp-connector/sync/condition"
)

// gaugeValues gathers the value of each gauge, in order.
func gaugeValues(t *testing.T, gauges ...*prometheus.GaugeVec) []float64 {
	t.Helper()
	var out []float64
	for _, g := range gauges {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(g)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		if len(mfs) != 1 || len(mfs[0].GetMetric()) != 1 {
			t.Fatalf("gathered %v, want one series", mfs)
		}
		out = append(out, mfs[0].GetMetric()[0].GetGauge().GetValue())
	}
	return out
}

func TestObserveGate(t *testing.T) {
	since := time.Unix(1700000000, 0)
	contact := since.Add(-time.Minute)
	cases := map[string]struct {
		state GateState
		want  []float64 // reachable, ready, since, lastContact
	}{
		"Open": {
			state: GateState{Open: true, Reachable: true, Reason: condition.ReasonReady, Since: since, LastContact: since},
			want:  []float64{1, 1, 1700000000, 1700000000},
		},
		"Unreachable": {
			state: GateState{Reason: condition.ReasonUnreachable, Since: since, LastContact: contact},
			want:  []float64{0, 0, 1700000000, 1699999940},
		},
		"ReachableButHeld": {
			state: GateState{Reachable: true, Reason: condition.ReasonNamespaceHeld, Since: since, LastContact: since},
			want:  []float64{1, 0, 1700000000, 1700000000},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			observeGate(tc.state)
			got := gaugeValues(t, cpReachable, cpReady, cpSince, cpLastContact)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("observeGate(%+v): -want +got:\n%s", tc.state, diff)
			}
		})
	}
}
