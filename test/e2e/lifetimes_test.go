package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// A syncer stopped because its API was withdrawn stops watching: the app
// cluster's API server counts one watch of the kind fewer (the connector's;
// kube-controller-manager's garbage collector keeps its own), while the CRD
// stays for the claim that remains.
func TestStoppedSyncerStopsWatching(t *testing.T) {
	sharedConnector(t)
	group := "lifetime.e2e.starter.org"
	crdName := "widgets." + group
	xrd := widgetAPI(t, group)

	w := newWidget(t, group)
	waitLocal(t, w, func(u *unstructured.Unstructured) error {
		if !controllerutilContains(u.GetFinalizers(), conflict.Finalizer) {
			return fmt.Errorf("no finalizer yet")
		}
		return nil
	})
	// The connector's watch and the garbage collector's (which finds new
	// resources within its 30 s discovery period).
	waitWatches(t, world.App.Config, group, "widgets", 2)

	if err := world.ControlPlane.Client.Delete(context.Background(), xrd); err != nil {
		t.Fatal(err)
	}
	waitConnection(t, func(status map[string]any) error { return apiState(status, crdName, connection.StateWithdrawn) })
	waitWatches(t, world.App.Config, group, "widgets", 1)
}

// waitWatches polls the API server's own count of open watches on a
// resource until it is want.
func waitWatches(t *testing.T, cfg *rest.Config, group, resource string, want int) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		got, err := openWatches(cfg, group, resource)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("the API server has %d open watches on %s.%s, want %d", got, resource, group, want)
		}
		return nil
	})
}

// openWatches reads apiserver_longrunning_requests{verb="WATCH"} for a
// resource from the API server's metrics.
func openWatches(cfg *rest.Config, group, resource string) (int, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Get(strings.TrimSuffix(cfg.Host, "/") + "/metrics")
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("GET /metrics: %s: %s", resp.Status, b)
	}
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("parse API server metrics: %w", err)
	}
	n := 0.0
	for _, m := range families["apiserver_longrunning_requests"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["verb"] == "WATCH" && labels["group"] == group && labels["resource"] == resource {
			n += m.GetGauge().GetValue()
		}
	}
	return int(n), nil
}
