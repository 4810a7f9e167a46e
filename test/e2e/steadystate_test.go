package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// writeMethods are the HTTP methods that change state.
var writeMethods = []string{`method="POST"`, `method="PUT"`, `method="PATCH"`, `method="DELETE"`}

// writes counts the connector's write requests, less the renewals of the
// cluster-id Lease in the control plane (a heartbeat, not a write of claims:
// docs/offline.md gives its cost).
func writes(t *testing.T, c *harness.Connector) float64 {
	var n float64
	for _, m := range writeMethods {
		n += metric(t, c, "rest_client_requests_total", m)
	}
	for _, verb := range []string{`verb="create"`, `verb="update"`} {
		n -= metric(t, c, "mcp_connector_control_plane_lease_requests_total", verb)
	}
	return n
}

// A connector at rest writes nothing: with every claim in sync, many resync
// passes (every claim reconciled again and again) make zero requests that
// change anything, in either cluster. The connector is the test's own, so
// that its reconcile and write counts are about these claims alone.
func TestResyncWritesNothing(t *testing.T) {
	r := newFaultRig(t, "--resync-period=3s")
	c := r.start(t)
	r.waitMirrored(t)
	var names []string
	for i := range 3 {
		names = append(names, fmt.Sprintf("rest-%d", i))
		r.create(t, names[i], int64(i+1))
	}
	for _, name := range names {
		r.waitLocal(t, name, readyAndSynced)
		waitSecretIn(t, r.app.Client, r.claims, name+"-kubeconfig")
	}
	// Settle: find a window of one resync pass over every claim with no write.
	var before float64
	harness.Eventually(t, 2*time.Minute, func() error {
		before = writes(t, c)
		if err := waitReconciles(t, c, len(names)); err != nil {
			return err
		}
		if w := writes(t, c); w != before {
			return fmt.Errorf("still writing: %v -> %v", before, w)
		}
		return nil
	})
	// Observe: three more resync passes over every claim, no write.
	for range 3 {
		if err := waitReconciles(t, c, len(names)); err != nil {
			t.Fatal(err)
		}
	}
	if w := writes(t, c); w != before {
		t.Errorf("the connector wrote at rest: %v write requests before, %v after", before, w)
	}
}

// waitReconciles waits until the claim controller of c has reconciled n
// more times (with a 3 s resync period, one pass over n claims). The count
// is over every claim c serves: c must be a connector of the test's own,
// not the shared one, whose count moves with other tests' claims.
func waitReconciles(t *testing.T, c *harness.Connector, n int) error {
	const series = `controller="claim-kubernetescluster.k8s.starter.org"`
	start := metric(t, c, "controller_runtime_reconcile_total", series)
	return wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return metric(t, c, "controller_runtime_reconcile_total", series) >= start+float64(n), nil
	})
}
