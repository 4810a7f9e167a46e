package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// TestTokenMode installs with an Upbound API token (--token, --account)
// against a stand-in for Upbound's control-plane proxy that accepts only
// that token: install creates the namespace through it, the connector runs
// with the chart's token Secret, and uninstall orphans the claims with the
// token it reads back from the release.
func TestTokenMode(t *testing.T) {
	world.LogOnFailure(t)
	releaseNS := harness.NewNamespace(t, world.App.Client)
	cpNS := newControlPlaneNamespaceName(t)
	release := "mcp-connector-" + cpNS
	clusterID := appClusterID(t)
	const account, name, token = "acme", "ctp1", "upbound-api-token"
	p := harness.StartUpboundProxy(t, world.ControlPlane.Config, "/v1/controlPlanes/"+account+"/"+name+"/k8s", token)
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, []byte(p.CAPEM), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := startCLI(t, "install", name, cpNS, "-n", releaseNS, "--token="+token, "--account="+account,
		"--base-url="+p.Server.URL+"/v1/controlPlanes", "--control-plane-ca-file="+caFile,
		"--set", "rbac.claimAPIGroups[0]="+harness.ExampleGroup, "--timeout=3m")
	proc := runDeployment(t, releaseNS, release)
	checkOutput(t, cmd.Wait(t), "Created namespace "+cpNS+" in control plane "+name,
		"Control plane "+p.Server.URL+"/v1/controlPlanes/acme/ctp1/k8s: reachable", "Connected: 1 APIs mirrored")
	claims := createClaims(t, []string{harness.NewNamespace(t, world.App.Client)}, 2)
	before := recordRemote(t, cpNS, clusterID, claims)

	uninstall(t, releaseNS, cpNS, release, proc, 2)
	checkOrphaned(t, cpNS, before, 2)
	checkAppClean(t, releaseNS, cpNS, release, claims)
	if served, refused := p.Served.Load(), p.Refused.Load(); served == 0 || refused != 0 {
		t.Errorf("the proxy served %d requests and refused %d; want some served, none refused", served, refused)
	}
}
