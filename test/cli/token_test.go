package cli

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"

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
	p := startUpboundProxy(t, world.ControlPlane.Config, "/v1/controlPlanes/"+account+"/"+name+"/k8s", token)
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, []byte(p.caPEM), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := startCLI(t, "install", name, cpNS, "-n", releaseNS, "--token="+token, "--account="+account,
		"--base-url="+p.srv.URL+"/v1/controlPlanes", "--control-plane-ca-file="+caFile,
		"--set", "rbac.claimAPIGroups[0]="+harness.ExampleGroup, "--timeout=3m")
	proc := runDeployment(t, releaseNS, release)
	checkOutput(t, cmd.Wait(t), "Created namespace "+cpNS+" in control plane "+name,
		"Control plane "+p.srv.URL+"/v1/controlPlanes/acme/ctp1/k8s: reachable", "Connected: 1 APIs mirrored")
	claims := createClaims(t, []string{harness.NewNamespace(t, world.App.Client)}, 2)
	before := recordRemote(t, cpNS, clusterID, claims)

	uninstall(t, releaseNS, cpNS, release, proc, 2)
	checkOrphaned(t, cpNS, before, 2)
	checkAppClean(t, releaseNS, cpNS, release, claims)
	if served, refused := p.served.Load(), p.refused.Load(); served == 0 || refused != 0 {
		t.Errorf("the proxy served %d requests and refused %d; want some served, none refused", served, refused)
	}
}

// upboundProxy stands in for Upbound's control-plane proxy.
type upboundProxy struct {
	srv     *httptest.Server
	caPEM   string
	served  atomic.Int64
	refused atomic.Int64
}

// startUpboundProxy serves the control plane of target under prefix to
// clients that present token, forwarding with its own credentials, and
// closes when the test ends.
func startUpboundProxy(t *testing.T, target *rest.Config, prefix, token string) *upboundProxy {
	t.Helper()
	transport, err := rest.TransportFor(target)
	if err != nil {
		t.Fatal(err)
	}
	upstream, err := url.Parse(target.Host)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host, r.Out.Host = upstream.Scheme, upstream.Host, upstream.Host
			r.Out.URL.Path, r.Out.URL.RawPath = strings.TrimPrefix(r.In.URL.Path, prefix), ""
			r.Out.Header.Del("Authorization")
		},
		Transport:     transport,
		FlushInterval: -1, // watches stream
	}
	p := &upboundProxy{}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, prefix+"/") || r.Header.Get("Authorization") != "Bearer "+token {
			p.refused.Add(1)
			http.Error(rw, "unknown control plane or token", http.StatusUnauthorized)
			return
		}
		p.served.Add(1)
		rp.ServeHTTP(rw, r)
	}))
	p.srv.StartTLS()
	t.Cleanup(func() {
		p.srv.CloseClientConnections()
		p.srv.Close()
	})
	p.caPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw}))
	return p
}
