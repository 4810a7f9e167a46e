package main

import (
	"testing"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/mcp-connector/mcp-connector/charts"
)

// The request budget is chosen once (docs/benchmarks.md, "Throughput at the
// defaults") and quoted in three places: the flags, the chart's values and
// the docs. The first two must agree, and the flags must default to it.
func TestRequestBudgetDefaults(t *testing.T) {
	o := NewRunOptions()
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]string{"kube-api-qps": "500", "kube-api-burst": "1000", "workers": "16"} {
		if got := fs.Lookup(flag).DefValue; got != want {
			t.Errorf("--%s defaults to %s, want %s", flag, got, want)
		}
	}

	raw, err := charts.FS.ReadFile("mcp-connector/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		Workers int `json:"workers"`
		KubeAPI struct {
			QPS   float32 `json:"qps"`
			Burst int     `json:"burst"`
		} `json:"kubeAPI"`
	}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	if values.Workers != o.Workers || values.KubeAPI.QPS != o.QPS || values.KubeAPI.Burst != o.Burst {
		t.Errorf("chart values workers=%d kubeAPI.qps=%g kubeAPI.burst=%d, want the flags' defaults %d, %g, %d",
			values.Workers, values.KubeAPI.QPS, values.KubeAPI.Burst, o.Workers, o.QPS, o.Burst)
	}
}
