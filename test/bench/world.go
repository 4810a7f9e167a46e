package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// Namespaces and identity of every benchmark world.
const (
	// connectorNamespace is the control-plane namespace of the connector.
	connectorNamespace = "bench-connector"
	// baselineNamespace holds the baseline's objects in the control plane,
	// outside the connector's cache.
	baselineNamespace = "bench-baseline"
	clusterID         = "bench-cluster"
)

// world is a fresh app cluster and control plane (bare kube-apiservers with
// etcd; no Crossplane, no kube-controller-manager) serving the bench APIs.
type world struct {
	app, cp *harness.Env
	// appDyn and cpDyn are the bench's own clients: no client-side limit
	// worth the name, so that setup and observation never queue.
	appDyn, cpDyn dynamic.Interface
	// proxy, when started (startProxy), stands between the connector and
	// the control plane; cpKubeconfig and cpViaProxy reach the control plane
	// through it.
	proxy        *harness.FaultProxy
	cpKubeconfig string
	cpViaProxy   *rest.Config
}

func startWorld(ctx context.Context) (*world, error) {
	return startWorldWith(ctx, harness.EnvOptions{}, kinds)
}

// startWorldOf starts a world whose control plane serves the claim kinds ks.
func startWorldOf(ctx context.Context, ks []kind) (*world, error) {
	return startWorldWith(ctx, harness.EnvOptions{}, ks)
}

// startWorldWith is startWorldOf with the app cluster started with appOpts
// (extra kube-apiserver flags, kube-controller-manager).
func startWorldWith(ctx context.Context, appOpts harness.EnvOptions, ks []kind) (*world, error) {
	w := &world{}
	var err error
	if w.app, err = harness.StartEnv(ctx, "bench-app", appOpts); err != nil {
		return nil, err
	}
	if w.cp, err = startControlPlaneEnv(ctx, "bench-control-plane", nil); err != nil {
		_ = w.stop()
		return nil, err
	}
	if err := w.setup(ctx, ks); err != nil {
		_ = w.stop()
		return nil, err
	}
	return w, nil
}

// startControlPlaneEnv starts a control plane serving Crossplane's XRD CRD,
// with the given extra kube-apiserver flags.
func startControlPlaneEnv(ctx context.Context, name string, flags map[string]string) (*harness.Env, error) {
	xrdCRD, err := xrdCRDFile()
	if err != nil {
		return nil, err
	}
	return harness.StartEnv(ctx, name, harness.EnvOptions{CRDDirectoryPaths: []string{xrdCRD}, APIServerFlags: flags})
}

func (w *world) setup(ctx context.Context, ks []kind) error {
	var err error
	if w.appDyn, err = dynamic.NewForConfig(unlimited(w.app.Config)); err != nil {
		return err
	}
	if w.cpDyn, err = dynamic.NewForConfig(unlimited(w.cp.Config)); err != nil {
		return err
	}
	for _, ns := range []string{connectorNamespace, baselineNamespace} {
		if err := w.cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return fmt.Errorf("create control-plane namespace %s: %w", ns, err)
		}
	}
	return installKinds(ctx, w.cp, ks)
}

// createLocalNamespaces creates the app-cluster namespaces claims live in.
func (w *world) createLocalNamespaces(ctx context.Context, names []string) error {
	for _, ns := range names {
		if err := w.app.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return fmt.Errorf("create namespace %s: %w", ns, err)
		}
	}
	return nil
}

// startProxy puts a fault proxy in front of the control plane's API server:
// the connectors started afterwards reach it through the proxy, and so can
// the bench's clients of cpViaProxy.
func (w *world) startProxy() error {
	u, err := url.Parse(w.cp.Config.Host)
	if err != nil {
		return err
	}
	if w.proxy, err = harness.StartFaultProxy(u.Host); err != nil {
		return err
	}
	w.cpKubeconfig = filepath.Join(w.cp.Dir, "via-proxy.kubeconfig")
	if err := harness.WriteProxiedKubeconfig(w.cp.Kubeconfig, w.cpKubeconfig, w.proxy.Addr()); err != nil {
		return err
	}
	w.cpViaProxy = rest.CopyConfig(w.cp.Config)
	u.Host = w.proxy.Addr()
	w.cpViaProxy.Host = u.String()
	return nil
}

func (w *world) stop() error {
	var errs []error
	if w.proxy != nil {
		errs = append(errs, w.proxy.Close())
	}
	if w.app != nil {
		errs = append(errs, w.app.Stop())
	}
	if w.cp != nil {
		errs = append(errs, w.cp.Stop())
	}
	return errors.Join(errs...)
}

// unlimited copies cfg with a client-side rate limit far above what two
// cores can serve.
func unlimited(cfg *rest.Config) *rest.Config {
	return limited(cfg, 5000, 10000, "mcp-bench")
}

// limited copies cfg with the given client-side QPS and burst.
func limited(cfg *rest.Config, qps float32, burst int, userAgent string) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst, c.RateLimiter = qps, burst, nil
	c.UserAgent = userAgent
	return c
}
