package lifecycle

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
)

func TestReleaseName(t *testing.T) {
	cases := map[string]struct {
		namespace, want string
	}{
		"Short": {namespace: "team-a", want: "mcp-connector-team-a"},
		// The longest namespace whose name fits keeps the name releases
		// were installed under before names were hashed.
		"LongestUncut":   {namespace: strings.Repeat("a", 39), want: "mcp-connector-" + strings.Repeat("a", 39)},
		"CutWithHash":    {namespace: strings.Repeat("a", 63), want: "mcp-connector-" + strings.Repeat("a", 28) + "-7d3e74a05d"},
		"NoDoubleDash":   {namespace: strings.Repeat("a", 27) + "-b" + strings.Repeat("c", 20), want: "mcp-connector-" + strings.Repeat("a", 27) + "-d3a8a74420"},
		"SharedPrefixA":  {namespace: "team-" + strings.Repeat("x", 34) + "-one", want: "mcp-connector-team-" + strings.Repeat("x", 23) + "-d06602a218"},
		"SharedPrefixB":  {namespace: "team-" + strings.Repeat("x", 34) + "-two", want: "mcp-connector-team-" + strings.Repeat("x", 23) + "-1d70fd2d52"},
		"JustTooLongCut": {namespace: strings.Repeat("a", 40), want: "mcp-connector-" + strings.Repeat("a", 28) + "-e33cdf9c7f"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ReleaseName(tc.namespace)
			if diff := cmp.Diff(tc.want, got); diff != "" || len(got) > 53 {
				t.Errorf("ReleaseName(%q) (-want +got):\n%s (length %d)", tc.namespace, diff, len(got))
			}
		})
	}
}

// TestReleaseNameUnique checks that namespaces which share their first 39
// characters (one release name under the old cut) get releases of their own.
func TestReleaseNameUnique(t *testing.T) {
	prefix := strings.Repeat("n", 39)
	seen := map[string]string{}
	for _, ns := range []string{prefix, prefix + "a", prefix + "b", prefix + "-x", prefix + strings.Repeat("z", 24)} {
		name := ReleaseName(ns)
		if other, ok := seen[name]; ok {
			t.Errorf("namespaces %s and %s share release %s", other, ns, name)
		}
		seen[name] = ns
	}
}

func TestReleaseFor(t *testing.T) {
	rel := func(name, chartName, namespace string) *release.Release {
		return &release.Release{Name: name, Namespace: "mcp-system", Chart: &chart.Chart{Metadata: &chart.Metadata{Name: chartName}},
			Config: map[string]any{"mcp": map[string]any{"namespace": namespace}}}
	}
	cases := map[string]struct {
		rels    []*release.Release
		want    string
		wantErr string
	}{
		"ByNamespace":          {rels: []*release.Release{rel("a", chartName, "team-a"), rel("b", chartName, "team-b")}, want: "b"},
		"NameIsNotEnough":      {rels: []*release.Release{rel(ReleaseName("team-b"), chartName, "team-a")}},
		"OtherChart":           {rels: []*release.Release{rel("b", "other", "team-b")}},
		"NoChart":              {rels: []*release.Release{{Name: "b", Config: map[string]any{"mcp": map[string]any{"namespace": "team-b"}}}}},
		"None":                 {},
		"TwoServeOneIsRefused": {rels: []*release.Release{rel("b1", chartName, "team-b"), rel("b2", chartName, "team-b")}, wantErr: "two Helm releases, b1 and b2, in namespace mcp-system connect control-plane namespace team-b; uninstall one of them with helm"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r, err := releaseFor(tc.rels, "team-b")
			got, gotErr := "", ""
			if r != nil {
				got = r.Name
			}
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("releaseFor (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantErr, gotErr); diff != "" {
				t.Errorf("releaseFor error (-want +got):\n%s", diff)
			}
		})
	}
}
