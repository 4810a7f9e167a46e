package e2e

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// slowOneWay is the latency the proxy adds each way while the control plane
// is slow: a round trip of 6.4 s, longer than half the Lease's renew deadline
// (what client-go gives a leader-election request by default) and shorter
// than the renew deadline and the probe's timeout (10 s).
const slowOneWay = 3200 * time.Millisecond

// slowHold is how long the control plane stays slow: long enough for three
// renewals of the cluster-id Lease (one every 5 s, each taking a round trip).
const slowHold = 25 * time.Second

// A control plane that answers slowly, as one busy with a large initial sync
// does, is not a control plane that is away: the connector keeps its
// cluster-id Lease, keeps saying the control plane is reachable and keeps
// pushing changes. When a Lease request was given half the renew deadline,
// every renewal timed out, the Lease was lost and the gate closed.
func TestSlowControlPlaneKeepsTheLease(t *testing.T) {
	r := newFaultRig(t)
	c := r.start(t)
	r.waitMirrored(t)
	r.create(t, "slow", 1)
	r.waitLocal(t, "slow", readyAndSynced)
	since := r.waitReachable(t, true)
	waitMetric(t, c, "mcp_connector_control_plane_lease_lost_total", equals(0))

	r.proxy.Slow(slowOneWay)
	start := time.Now()
	r.setCount(t, "slow", 2)
	pushed := false
	// The slow period lasts slowHold: that is the behaviour under test. A
	// look each second asserts that nothing took it for an outage.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for ; time.Since(start) < slowHold || !pushed; <-tick.C {
		if time.Since(start) > slowHold+waitTimeout {
			t.Fatalf("the change made while the control plane was slow was not pushed within %s", slowHold+waitTimeout)
		}
		if err := r.stillReachable(c, since); err != nil {
			t.Fatalf("%s into the slow period: %v", time.Since(start).Round(time.Second), err)
		}
		if !pushed {
			rem, err := r.remote("slow")
			if err == nil {
				n, _, _ := unstructured.NestedInt64(rem.Object, "spec", "nodes", "count")
				pushed = n == 2
			}
		}
	}
	t.Logf("slow for %s: the Lease held, the change pushed", time.Since(start).Round(time.Second))
	r.proxy.Restore()
	r.waitLocal(t, "slow", readyAndSynced)
}

// stillReachable says why the connector no longer looks healthy: the
// Connection says unreachable or changed since, or the Lease was lost.
func (r *faultRig) stillReachable(c *harness.Connector, since time.Time) error {
	status, err := r.connectionStatus()
	if err != nil {
		return err
	}
	reachable, _, _ := unstructured.NestedBool(status, "controlPlane", "reachable")
	s, _, _ := unstructured.NestedString(status, "controlPlane", "since")
	if !reachable || s != since.UTC().Format(time.RFC3339) {
		return fmt.Errorf("the Connection says reachable=%v since %s (was reachable since %s): %v",
			reachable, s, since.UTC().Format(time.RFC3339), status["controlPlane"])
	}
	text, err := scrape(c)
	if err != nil {
		return err
	}
	if lost, _ := metricValue(text, "mcp_connector_control_plane_lease_lost_total"); lost != 0 {
		return fmt.Errorf("the cluster-id Lease was lost %v times", lost)
	}
	return nil
}
