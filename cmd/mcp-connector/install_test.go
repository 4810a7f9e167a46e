//go:build !runonly

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mcp-connector/mcp-connector/cmd/lifecycle"
)

func TestInstallValidate(t *testing.T) {
	cases := map[string]struct {
		opts    lifecycle.Install
		wantErr string
	}{
		"NoCredentials":  {opts: lifecycle.Install{}, wantErr: "exactly one of"},
		"TwoCredentials": {opts: lifecycle.Install{ControlPlaneSecret: "s", Token: "t", Account: "a"}, wantErr: "exactly one of"},
		"TokenNoAccount": {opts: lifecycle.Install{Token: "t"}, wantErr: "--token needs --account"},
		"BadNamespace":   {opts: lifecycle.Install{ControlPlaneSecret: "s", ControlPlaneNamespace: "Team_A"}, wantErr: "not a valid namespace name"},
		"BadClusterID":   {opts: lifecycle.Install{ControlPlaneSecret: "s", ClusterID: "not a label"}, wantErr: "valid label value"},
		"ShortTokenLife": {opts: lifecycle.Install{ControlPlaneKubeconfig: "k", TokenLifetime: time.Minute}, wantErr: "shorter than the 10m"},
		"Valid":          {opts: lifecycle.Install{ControlPlaneSecret: "s"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o := InstallOptions{Install: tc.opts}
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
