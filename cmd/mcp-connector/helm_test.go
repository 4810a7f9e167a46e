package main

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
)

func TestReleaseName(t *testing.T) {
	cases := map[string]struct {
		namespace, want string
	}{
		"Short":          {namespace: "team-a", want: "mcp-connector-team-a"},
		"Truncated":      {namespace: strings.Repeat("a", 63), want: "mcp-connector-" + strings.Repeat("a", 39)},
		"NoTrailingDash": {namespace: strings.Repeat("a", 38) + "-b", want: "mcp-connector-" + strings.Repeat("a", 38)},
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

// TestInstallValuesRender renders the embedded chart, as install would
// install it, with the values install builds for each credential flag, and
// reads the settings uninstall needs back from the computed values.
func TestInstallValuesRender(t *testing.T) {
	cases := map[string]struct {
		opts InstallOptions
		want releaseSettings
		args []string
	}{
		"Kubeconfig": {
			opts: InstallOptions{ControlPlaneKubeconfig: "/tmp/cp.kubeconfig"},
			want: releaseSettings{Mode: credentialKubeconfig, SecretName: "mcp-connector-team-a-control-plane-kubeconfig", SecretKey: "kubeconfig"},
			args: []string{"--control-plane-kubeconfig=/etc/mcp-connector/control-plane/kubeconfig"},
		},
		"Secret": {
			opts: InstallOptions{ControlPlaneSecret: "spaces-kubeconfig", ClusterID: "c1"},
			want: releaseSettings{Mode: credentialKubeconfig, SecretName: "spaces-kubeconfig", SecretKey: "kubeconfig", ClusterID: "c1"},
			args: []string{"--cluster-id=c1"},
		},
		"Token": {
			opts: InstallOptions{Token: "t0k3n", Account: "acme", BaseURL: "https://proxy.example/v1/controlPlanes/"},
			want: releaseSettings{Mode: credentialToken, Token: "t0k3n", Server: "https://proxy.example/v1/controlPlanes/acme/ctp1/k8s", SecretKey: "kubeconfig"},
			args: []string{"--control-plane-server=https://proxy.example/v1/controlPlanes/acme/ctp1/k8s"},
		},
		"SetOverrides": {
			opts: InstallOptions{ControlPlaneSecret: "s", Set: []string{"connectionName=conn1", "leaderElection.enabled=false"}},
			want: releaseSettings{Mode: credentialKubeconfig, SecretName: "s", SecretKey: "kubeconfig", Connection: "conn1", LeaderElect: false},
			args: []string{"--connection-name=conn1", "--leader-elect=false"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o := tc.opts
			o.ControlPlaneName, o.ControlPlaneNamespace, o.Cluster.Namespace = "ctp1", "team-a", "mcp-system"
			if err := o.Validate(); err != nil {
				t.Fatal(err)
			}
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

func TestInstallValidate(t *testing.T) {
	cases := map[string]struct {
		opts    InstallOptions
		wantErr string
	}{
		"NoCredentials":  {opts: InstallOptions{}, wantErr: "exactly one of"},
		"TwoCredentials": {opts: InstallOptions{ControlPlaneSecret: "s", Token: "t", Account: "a"}, wantErr: "exactly one of"},
		"TokenNoAccount": {opts: InstallOptions{Token: "t"}, wantErr: "--token needs --account"},
		"BadNamespace":   {opts: InstallOptions{ControlPlaneSecret: "s", ControlPlaneNamespace: "Team_A"}, wantErr: "not a valid namespace name"},
		"BadClusterID":   {opts: InstallOptions{ControlPlaneSecret: "s", ClusterID: "not a label"}, wantErr: "valid label value"},
		"Valid":          {opts: InstallOptions{ControlPlaneSecret: "s"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o := tc.opts
			o.ControlPlaneName, o.Cluster.Namespace = "ctp1", "mcp-system"
			if o.ControlPlaneNamespace == "" {
				o.ControlPlaneNamespace = "team-a"
			}
			err := o.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
