package lifecycle

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
)

// TestInstallValuesRender renders the embedded chart, as install would
// install it, with the values install builds for each credential flag, and
// reads the settings uninstall needs back from the computed values.
func TestInstallValuesRender(t *testing.T) {
	cases := map[string]struct {
		opts Install
		want releaseSettings
		args []string
	}{
		"Kubeconfig": {
			opts: Install{ControlPlaneKubeconfig: "/tmp/cp.kubeconfig"},
			want: releaseSettings{Mode: credentialKubeconfig, SecretName: "mcp-connector-team-a-control-plane-kubeconfig", SecretKey: "kubeconfig"},
			args: []string{"--control-plane-kubeconfig=/etc/mcp-connector/control-plane/kubeconfig"},
		},
		"Secret": {
			opts: Install{ControlPlaneSecret: "spaces-kubeconfig", ClusterID: "c1"},
			want: releaseSettings{Mode: credentialKubeconfig, SecretName: "spaces-kubeconfig", SecretKey: "kubeconfig", ClusterID: "c1"},
			args: []string{"--cluster-id=c1"},
		},
		"Token": {
			opts: Install{Token: "t0k3n", Account: "acme", BaseURL: "https://proxy.example/v1/controlPlanes/"},
			want: releaseSettings{Mode: credentialToken, Token: "t0k3n", Server: "https://proxy.example/v1/controlPlanes/acme/ctp1/k8s", SecretKey: "kubeconfig"},
			args: []string{"--control-plane-server=https://proxy.example/v1/controlPlanes/acme/ctp1/k8s"},
		},
		"SetOverrides": {
			opts: Install{ControlPlaneSecret: "s", Set: []string{"connectionName=conn1", "leaderElection.enabled=false"}},
			want: releaseSettings{Mode: credentialKubeconfig, SecretName: "s", SecretKey: "kubeconfig", Connection: "conn1", LeaderElect: false},
			args: []string{"--connection-name=conn1", "--leader-elect=false"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o := tc.opts
			o.ControlPlaneName, o.ControlPlaneNamespace, o.Cluster.Namespace = "ctp1", "team-a", "mcp-system"
			release := ReleaseName(o.ControlPlaneNamespace)
			vals, err := o.Values(kubeconfigSecretName(release))
			if err != nil {
				t.Fatal(err)
			}
			manifest := render(t, release, vals)
			for _, a := range append(tc.args, "--control-plane-namespace=team-a") {
				if !strings.Contains(manifest, a) {
					t.Errorf("rendered Deployment lacks argument %s", a)
				}
			}
			chrt, err := loadChart()
			if err != nil {
				t.Fatal(err)
			}
			all, err := chartutil.CoalesceValues(chrt, vals)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			want.ControlPlaneNamespace, want.ControlPlaneName, want.LeaseNamespace = "team-a", "ctp1", "mcp-system"
			if want.Connection == "" {
				want.Connection = "team-a"
			}
			if name != "SetOverrides" {
				want.LeaderElect = true
			}
			if diff := cmp.Diff(want, settingsOf(all, "mcp-system")); diff != "" {
				t.Errorf("settingsOf (-want +got):\n%s", diff)
			}
		})
	}
}

// render renders the embedded chart client-side, as install would.
func render(t *testing.T, release string, vals map[string]any) string {
	t.Helper()
	chrt, err := loadChart()
	if err != nil {
		t.Fatal(err)
	}
	inst := action.NewInstall(&action.Configuration{})
	inst.ReleaseName, inst.Namespace = release, "mcp-system"
	inst.DryRun, inst.ClientOnly, inst.Replace = true, true, true
	inst.KubeVersion = &chartutil.KubeVersion{Version: "v1.34.0", Major: "1", Minor: "34"}
	rel, err := inst.RunWithContext(context.Background(), chrt, vals)
	if err != nil {
		t.Fatalf("render the embedded chart: %v", err)
	}
	return rel.Manifest
}

// TestValues checks the chart values install builds from its options: the
// user's files and --set first, then the arguments and the one credential.
func TestValues(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(file, []byte("workers: 4\nmcp:\n  name: from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	mcp := func(extra map[string]any) map[string]any {
		m := map[string]any{"namespace": "team-a", "name": "ctp1"}
		maps.Copy(m, extra)
		return m
	}
	cases := map[string]struct {
		in   Install
		want map[string]any
	}{
		"Secret": {
			in:   Install{ControlPlaneSecret: "spaces"},
			want: map[string]any{"mcp": mcp(map[string]any{"secret": map[string]any{"name": "spaces"}})},
		},
		"Kubeconfig": {
			in: Install{ControlPlaneKubeconfig: "/tmp/kc"},
			want: map[string]any{"mcp": mcp(nil),
				"controlPlane": map[string]any{"kubeconfigSecret": map[string]any{"name": "mcp-connector-team-a-control-plane-kubeconfig"}}},
		},
		"TokenWithCA": {
			in:   Install{Token: "t0k3n", Account: "acme", BaseURL: "https://proxy", CAFile: ca},
			want: map[string]any{"mcp": mcp(map[string]any{"token": "t0k3n", "account": "acme", "baseURL": "https://proxy", "caBundle": "PEM"})},
		},
		"ClusterID": {
			in:   Install{ControlPlaneSecret: "s", ClusterID: "c1"},
			want: map[string]any{"clusterID": "c1", "mcp": mcp(map[string]any{"secret": map[string]any{"name": "s"}})},
		},
		"SetKeepsWhatArgumentsDoNotSay": {
			in:   Install{ControlPlaneSecret: "s", Set: []string{"mcp.secret.key=creds"}},
			want: map[string]any{"mcp": mcp(map[string]any{"secret": map[string]any{"name": "s", "key": "creds"}})},
		},
		"ArgumentsWinOverFileAndSet": {
			in: Install{ControlPlaneSecret: "s", ValuesFiles: []string{file}, Set: []string{"mcp.namespace=other", "connectionName=conn1"}},
			want: map[string]any{"workers": float64(4), "connectionName": "conn1",
				"mcp": mcp(map[string]any{"secret": map[string]any{"name": "s"}})},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := tc.in
			in.ControlPlaneName, in.ControlPlaneNamespace = "ctp1", "team-a"
			got, err := in.Values(kubeconfigSecretName(ReleaseName("team-a")))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Values (-want +got):\n%s", diff)
			}
		})
	}
}
