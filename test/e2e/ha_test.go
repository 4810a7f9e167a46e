package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// takeoverTimeout bounds a leader hand-over after the leader was killed: the
// Lease (15 s) must expire first, since a killed leader cannot release it.
const takeoverTimeout = 60 * time.Second

// Two replicas with leader election: only the leader syncs; kill -9 it and
// the other takes over, and sync goes on with nothing lost or duplicated.
func TestLeaderKilledHandsOver(t *testing.T) {
	r := newFaultRig(t)
	r.cfg.LeaderElect = true
	replicas := []*harness.Connector{r.start(t), r.start(t)}
	r.waitMirrored(t)
	leader, follower := waitLeader(t, replicas, waitTimeout)
	holder := leaseHolder(t, r)
	t.Logf("leader pid %d (lease holder %s), follower pid %d", leader.Pid(), holder, follower.Pid())
	r.create(t, "before", 1)
	r.waitLocal(t, "before", conditionIs(condition.Type, "True")) // the leader syncs; Ready is checked at the end

	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	r.create(t, "after", 2)
	r.setCount(t, "before", 3)
	if got, _ := waitLeader(t, []*harness.Connector{follower}, takeoverTimeout); got != follower {
		t.Fatalf("the follower did not take over")
	}
	t.Logf("the follower took over %s after the kill", time.Since(killed).Round(time.Second))
	if now := leaseHolder(t, r); now == holder {
		t.Errorf("the Lease is still held by the killed leader %s", holder)
	}
	r.converge(t, map[string]int64{"before": 3, "after": 2})
	waitMetric(t, follower, "mcp_connector_control_plane_reachable", equals(1))
}

// leaseName is the leader-election Lease of the rig's
// connectors, named after the Connection.
func (r *faultRig) leaseName() string { return "mcp-connector-" + r.namespace }

// waitLeader waits until exactly one of the running replicas reports itself
// leader in its metrics, and returns it and another one (nil if none).
func waitLeader(t *testing.T, replicas []*harness.Connector, timeout time.Duration) (leader, other *harness.Connector) {
	t.Helper()
	harness.Eventually(t, timeout, func() error {
		leader, other = nil, nil
		var errs []error
		for _, c := range replicas {
			text, err := scrape(c)
			if err != nil {
				errs = append(errs, fmt.Errorf("pid %d: %w", c.Pid(), err))
				continue
			}
			// The app cluster's Lease (named after the connection, which is
			// the control-plane namespace here), not the cluster-id Lease
			// that the leader also holds in the control plane.
			if v, ok := metricValue(text, "leader_election_master_status", `name="mcp-connector-`+c.Config.ControlPlaneNamespace+`"`); ok && v == 1 {
				if leader != nil {
					return fmt.Errorf("pids %d and %d both say they lead", leader.Pid(), c.Pid())
				}
				leader = c
			} else {
				other = c
			}
		}
		if leader == nil {
			return fmt.Errorf("no replica leads yet %v", errors.Join(errs...))
		}
		return nil
	})
	return leader, other
}

func leaseHolder(t *testing.T, r *faultRig) string {
	t.Helper()
	lease := &coordinationv1.Lease{}
	if err := r.app.Client.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: r.leaseName()}, lease); err != nil {
		t.Fatalf("read the leader-election Lease: %v", err)
	}
	if lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}
