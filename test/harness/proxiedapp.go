package harness

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"
)

// ProxiedApp is an app cluster of a test's own whose connector reaches the
// control plane through a fault proxy, in a control-plane namespace of its
// own: what the tests that cut, blackhole or slow the control plane start
// from.
type ProxiedApp struct {
	App   *Env
	Proxy *FaultProxy
	// Namespace is the control-plane namespace, ClusterID the connector's.
	Namespace, ClusterID string
	// Config runs a connector for App against Namespace through Proxy.
	Config ConnectorConfig
	// Dir is the test's directory, for logs and kubeconfigs.
	Dir string
}

// StartProxiedApp starts an app cluster (its name prefixed name), a fault
// proxy to cp, and a control-plane namespace, all stopped or removed when
// the test ends. The cluster id is clusterIDPrefix and the namespace's
// suffix.
func StartProxiedApp(t testing.TB, cp *ControlPlane, name, clusterIDPrefix string) *ProxiedApp {
	t.Helper()
	app, err := StartEnv(context.Background(), name, EnvOptions{})
	if err != nil {
		t.Fatalf("start an app cluster: %v", err)
	}
	t.Cleanup(func() { _ = app.Stop() })
	cpURL, err := url.Parse(cp.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := StartFaultProxy(cpURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "control-plane-via-proxy.kubeconfig")
	if err := WriteProxiedKubeconfig(cp.Kubeconfig, kubeconfig, proxy.Addr()); err != nil {
		t.Fatal(err)
	}
	ns := NewNamespace(t, cp.Client)
	p := &ProxiedApp{App: app, Proxy: proxy, Namespace: ns, ClusterID: clusterIDPrefix + ns[len(ns)-6:], Dir: dir}
	if p.Config, err = NewConnectorConfig(app, cp.Env, ns, p.ClusterID); err != nil {
		t.Fatal(err)
	}
	p.Config.ControlPlaneKubeconfig = kubeconfig
	return p
}

// StartTestConnector runs a connector with cfg on fresh loopback ports for
// its metrics and health probes, logging into dir, until the test ends; its
// last log lines are logged if the test failed.
func StartTestConnector(t testing.TB, dir string, cfg ConnectorConfig) *Connector {
	t.Helper()
	var err error
	if cfg.MetricsAddr, err = FreeLoopbackAddr(); err != nil {
		t.Fatal(err)
	}
	if cfg.HealthAddr, err = FreeLoopbackAddr(); err != nil {
		t.Fatal(err)
	}
	p, err := StartConnector(context.Background(), dir, cfg.Args()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("--- last lines of %s ---\n%s", p.LogPath(), p.Tail(40))
		}
	})
	return &Connector{Process: p, Config: cfg}
}
