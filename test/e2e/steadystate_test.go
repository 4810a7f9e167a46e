package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// writeMethods are the HTTP methods that change state.
var writeMethods = []string{`method="POST"`, `method="PUT"`, `method="PATCH"`, `method="DELETE"`}

func writes(t *testing.T, c *harness.Connector) float64 {
	var n float64
	for _, m := range writeMethods {
		n += metric(t, c, "rest_client_requests_total", m)
	}
	return n
}

// A connector at rest writes nothing: with every claim in sync, many resync
// passes (every claim reconciled again and again) make zero requests that
// change anything, in either cluster.
func TestResyncWritesNothing(t *testing.T) {
	c := sharedConnector(t)
	ns := harness.NewNamespace(t, world.App.Client)
	var claims []*unstructured.Unstructured
	for i := range 3 {
		cl := harness.NewExampleClaim(ns, fmt.Sprintf("rest-%d", i), int64(i+1))
		create(t, world.App.Client, cl)
		claims = append(claims, cl)
	}
	for _, cl := range claims {
		waitLocal(t, cl, readyAndSynced)
		waitSecret(t, ns, cl.GetName()+"-kubeconfig")
	}
	// Settle: find a window of one resync pass over every claim with no write.
	var before float64
	harness.Eventually(t, 2*time.Minute, func() error {
		before = writes(t, c)
		if err := waitReconciles(t, c, len(claims)); err != nil {
			return err
		}
		if w := writes(t, c); w != before {
			return fmt.Errorf("still writing: %v -> %v", before, w)
		}
		return nil
	})
	// Observe: three more resync passes over every claim, no write.
	for range 3 {
		if err := waitReconciles(t, c, len(claims)); err != nil {
			t.Fatal(err)
		}
	}
	if w := writes(t, c); w != before {
		t.Errorf("the connector wrote at rest: %v write requests before, %v after", before, w)
	}
}

// waitReconciles waits until the claim controller has reconciled n more
// times (with a 3 s resync period, one pass over n claims).
func waitReconciles(t *testing.T, c *harness.Connector, n int) error {
	const series = `controller="claim-kubernetescluster.k8s.starter.org"`
	start := metric(t, c, "controller_runtime_reconcile_total", series)
	return wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return metric(t, c, "controller_runtime_reconcile_total", series) >= start+float64(n), nil
	})
}
