package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// chartMetricName finds metric names in the chart's PromQL. test/ops checks,
// with Prometheus' parser, that it finds exactly the names each expression
// selects.
var chartMetricName = regexp.MustCompile(`\b(?:mcp_connector|controller_runtime|workqueue)_[a-z0-9_]+\b`)

// chartMetricNames renders the chart with its PrometheusRule and dashboard on
// and returns the metric names their expressions use, with where.
func chartMetricNames(t *testing.T) map[string][]string {
	t.Helper()
	helm := os.Getenv("MCP_HELM")
	if helm == "" {
		root, err := harness.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		helm = filepath.Join(root, "bin", "helm-v3.22.0")
	}
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(helm, "template", "ops", filepath.Join(root, "charts", "mcp-connector"),
		"--set", "mcp.namespace=ops", "--set", "controlPlane.kubeconfigSecret.name=cp",
		"--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.dashboard.enabled=true",
		"--show-only", "templates/prometheusrule.yaml", "--show-only", "templates/dashboard.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("helm template (set MCP_HELM, or run `make tools`): %v\n%s", err, out)
	}
	names := map[string][]string{}
	add := func(where, expr string) {
		for _, n := range chartMetricName.FindAllString(expr, -1) {
			names[n] = append(names[n], where)
		}
	}
	for _, doc := range bytes.Split(out, []byte("\n---")) {
		var obj struct {
			Kind string
			Data map[string]string
			Spec struct {
				Groups []struct {
					Rules []struct{ Alert, Expr string }
				}
			}
		}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			t.Fatalf("helm template: %v", err)
		}
		for _, g := range obj.Spec.Groups {
			for _, r := range g.Rules {
				add("alert "+r.Alert, r.Expr)
			}
		}
		if raw, ok := obj.Data["mcp-connector.json"]; ok {
			var d struct {
				Panels []struct {
					Title   string
					Targets []struct{ Expr string }
				}
				Templating struct {
					List []struct{ Name, Query string }
				}
			}
			if err := json.Unmarshal([]byte(raw), &d); err != nil {
				t.Fatalf("the dashboard is not JSON: %v", err)
			}
			for _, p := range d.Panels {
				for _, tg := range p.Targets {
					add("panel "+p.Title, tg.Expr)
				}
			}
			for _, v := range d.Templating.List {
				add("variable "+v.Name, v.Query)
			}
		}
	}
	if len(names) == 0 {
		t.Fatalf("the chart's rules and dashboard name no metric")
	}
	return names
}

// scrapedNames are the metric names of a scrape (a histogram's _bucket,
// _sum and _count are names of their own, as PromQL sees them).
func scrapedNames(text string) map[string]bool {
	names := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names
}

// Every metric the chart's alerts and dashboard use is one a running
// connector exports. Counters with labels appear once counted, so the test
// first makes the connector sync a claim and refuse one.
func TestChartMetricsExist(t *testing.T) {
	c := sharedConnector(t)
	ns := harness.NewNamespace(t, world.App.Client)
	synced := harness.NewExampleClaim(ns, "synced", 1)
	create(t, world.App.Client, synced)
	refused := harness.NewExampleClaim(ns, "refused", 1)
	foreign := harness.NewExampleClaim(sharedNamespace, sync.RemoteName(sharedClusterID, ns, "refused"), 1)
	unstructured.RemoveNestedField(foreign.Object, "spec", "writeConnectionSecretToRef")
	create(t, world.ControlPlane.Client, foreign)
	create(t, world.App.Client, refused)
	for _, u := range []*unstructured.Unstructured{synced, refused} {
		t.Cleanup(func() { _ = world.App.Client.Delete(t.Context(), u) })
	}
	t.Cleanup(func() { _ = world.ControlPlane.Client.Delete(t.Context(), foreign) })
	waitLocal(t, synced, readyAndSynced)
	waitLocal(t, refused, conditionReason(condition.Type, condition.ReasonForeignObject))

	want := chartMetricNames(t)
	harness.Eventually(t, waitTimeout, func() error {
		text, err := scrape(c)
		if err != nil {
			return err
		}
		have := scrapedNames(text)
		var missing []string
		for name, where := range want {
			if !have[name] {
				missing = append(missing, name+" ("+strings.Join(where, ", ")+")")
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			return &missingMetrics{missing}
		}
		return nil
	})
}

type missingMetrics struct{ names []string }

func (m *missingMetrics) Error() string {
	return "metrics the chart uses that the connector does not export: " + strings.Join(m.names, "; ")
}
