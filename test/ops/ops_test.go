package ops

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

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// promql is Prometheus' parser with its default options, as a Prometheus server without feature flags parses.
var promql = parser.NewParser(parser.Options{})

// helmFile is the pinned helm of the Makefile (HELM_VERSION).
const helmFile = "helm-v3.22.0"

// metricName is how test/e2e/opsmetrics_test.go finds the metric names in the chart's expressions without a
// PromQL parser; TestExpressionsNameOnlyKnownMetrics checks it finds exactly what the parser finds.
var metricName = regexp.MustCompile(`\b(?:mcp_connector|controller_runtime|workqueue)_[a-z0-9_]+\b`)

func helmPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("MCP_HELM")
	if p == "" {
		p = filepath.Join("..", "..", "bin", helmFile)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("helm: %v (set MCP_HELM, or run `make tools`)", err)
	}
	return p
}

// rendered renders the chart with every monitoring object on and returns its documents by kind.
func rendered(t *testing.T) map[string][]map[string]any {
	t.Helper()
	out, err := exec.Command(helmPath(t), "template", "ops", filepath.Join("..", "..", "charts", "mcp-connector"),
		"--namespace", "ops", "--set", "mcp.namespace=ops", "--set", "controlPlane.kubeconfigSecret.name=cp",
		"--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true",
		"--set", "metrics.dashboard.enabled=true").CombinedOutput()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	docs := map[string][]map[string]any{}
	for _, doc := range bytes.Split(out, []byte("\n---")) {
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("a rendered document is not YAML: %v\n%s", err, doc)
		}
		if kind, _ := m["kind"].(string); kind != "" {
			docs[kind] = append(docs[kind], m)
		}
	}
	return docs
}

// expression is one PromQL expression of the chart and where it is.
type expression struct{ where, expr string }

func ruleExpressions(t *testing.T, docs map[string][]map[string]any) []expression {
	t.Helper()
	if len(docs["PrometheusRule"]) != 1 {
		t.Fatalf("rendered %d PrometheusRules, want 1", len(docs["PrometheusRule"]))
	}
	var rule struct {
		Spec struct {
			Groups []struct {
				Rules []struct{ Alert, Expr, For string }
			}
		}
	}
	remarshal(t, docs["PrometheusRule"][0], &rule)
	var out []expression
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			if r.For != "" {
				if _, err := model.ParseDuration(r.For); err != nil {
					t.Errorf("alert %s: for %q is not a Prometheus duration: %v", r.Alert, r.For, err)
				}
			}
			out = append(out, expression{"alert " + r.Alert, r.Expr})
		}
	}
	return out
}

type dashboard struct {
	Panels []struct {
		Title   string
		Targets []struct{ Expr string }
	}
	Templating struct {
		List []struct{ Name, Type, Query string }
	}
}

func dashboardExpressions(t *testing.T, docs map[string][]map[string]any) (dashboard, []expression) {
	t.Helper()
	var d dashboard
	for _, cm := range docs["ConfigMap"] {
		data, _ := cm["data"].(map[string]any)
		raw, ok := data["mcp-connector.json"].(string)
		if !ok {
			continue
		}
		if !json.Valid([]byte(raw)) {
			t.Fatalf("the dashboard is not valid JSON")
		}
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			t.Fatalf("the dashboard: %v", err)
		}
		labels, _ := cm["metadata"].(map[string]any)["labels"].(map[string]any)
		if labels["grafana_dashboard"] != "1" {
			t.Errorf("the dashboard ConfigMap lacks the sidecar's label grafana_dashboard: \"1\": %v", labels)
		}
	}
	if len(d.Panels) == 0 {
		t.Fatalf("rendered no dashboard with panels")
	}
	var out []expression
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			out = append(out, expression{"panel " + p.Title, tg.Expr})
		}
	}
	return d, out
}

func remarshal(t *testing.T, in, out any) {
	t.Helper()
	b, err := json.Marshal(in)
	if err == nil {
		err = json.Unmarshal(b, out)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Every expression of the rules and the dashboard parses with Prometheus' parser, and the alerts the
// operations guide documents are all there.
func TestExpressionsParse(t *testing.T) {
	docs := rendered(t)
	rules := ruleExpressions(t, docs)
	_, panels := dashboardExpressions(t, docs)
	for _, e := range append(rules, panels...) {
		if _, err := promql.ParseExpr(e.expr); err != nil {
			t.Errorf("%s: %q does not parse: %v", e.where, e.expr, err)
		}
	}
	var alerts []string
	for _, e := range rules {
		alerts = append(alerts, strings.TrimPrefix(e.where, "alert "))
	}
	sort.Strings(alerts)
	want := []string{"MCPConnectorClaimsStale", "MCPConnectorConflictsRising", "MCPConnectorControlPlaneUnreachable",
		"MCPConnectorNoLeader", "MCPConnectorSyncErrors"}
	if strings.Join(alerts, " ") != strings.Join(want, " ") {
		t.Errorf("alerts %v, want %v", alerts, want)
	}
}

// The metric names the parser finds are exactly those the e2e suite's pattern finds, so that the e2e check
// against a live scrape sees every name.
func TestExpressionsNameOnlyKnownMetrics(t *testing.T) {
	docs := rendered(t)
	d, panels := dashboardExpressions(t, docs)
	for _, e := range append(ruleExpressions(t, docs), panels...) {
		expr, err := promql.ParseExpr(e.expr)
		if err != nil {
			continue // TestExpressionsParse reports it
		}
		byParser := map[string]bool{}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				byParser[vs.Name] = true
			}
			return nil
		})
		byPattern := map[string]bool{}
		for _, name := range metricName.FindAllString(e.expr, -1) {
			byPattern[name] = true
		}
		if !equal(byParser, byPattern) {
			t.Errorf("%s: the parser finds metrics %v, the e2e pattern %v", e.where, byParser, byPattern)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" && len(metricName.FindAllString(v.Query, -1)) != 1 {
			t.Errorf("dashboard variable %s: query %q names no known metric", v.Name, v.Query)
		}
	}
}

func equal(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}
