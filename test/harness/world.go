package harness

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

// World is what the end-to-end tests run in: a control plane and an app
// cluster, the connector's two sides.
type World struct {
	ControlPlane *ControlPlane
	App          *Env
}

// WorldOptions configures StartWorldWithOptions.
type WorldOptions struct {
	// Dir, if set, holds the clusters' directories (control-plane/ and app/),
	// kept after Stop. Empty means temporary directories.
	Dir string
	// ControlPlaneAPIServerFlags and AppAPIServerFlags are extra
	// kube-apiserver flags (see EnvOptions).
	ControlPlaneAPIServerFlags map[string]string
	AppAPIServerFlags          map[string]string
	// CrossplaneV2 starts a Crossplane v2 control plane (ControlPlaneOptions.CrossplaneV2).
	CrossplaneV2 bool
	// AppNodeIP readies the app cluster for a real node (EnvOptions.NodeIP;
	// its kube-controller-manager is then StartNode's).
	AppNodeIP string
}

// StartWorld starts a control plane and an app cluster (both with
// kube-controller-manager) side by side.
func StartWorld(ctx context.Context) (*World, error) {
	return StartWorldWithOptions(ctx, WorldOptions{})
}

// StartWorldWithOptions is StartWorld with options.
func StartWorldWithOptions(ctx context.Context, opts WorldOptions) (*World, error) {
	appOpts := EnvOptions{ControllerManager: opts.AppNodeIP == "", APIServerFlags: opts.AppAPIServerFlags, NodeIP: opts.AppNodeIP}
	cpOpts := ControlPlaneOptions{APIServerFlags: opts.ControlPlaneAPIServerFlags, CrossplaneV2: opts.CrossplaneV2}
	if opts.Dir != "" {
		appOpts.Dir = filepath.Join(opts.Dir, "app")
		cpOpts.Dir = filepath.Join(opts.Dir, "control-plane")
	}
	type started struct {
		env *Env
		err error
	}
	app := make(chan started, 1)
	go func() {
		e, err := StartEnv(ctx, "app", appOpts)
		app <- started{e, err}
	}()
	cp, cpErr := StartControlPlane(ctx, cpOpts)
	a := <-app
	w := &World{ControlPlane: cp, App: a.env}
	if err := errors.Join(cpErr, a.err); err != nil {
		_ = w.Stop()
		return nil, err
	}
	return w, nil
}

// Stop stops both clusters and everything running in them.
func (w *World) Stop() error {
	var errs []error
	if w.App != nil {
		errs = append(errs, w.App.Stop())
	}
	if w.ControlPlane != nil {
		errs = append(errs, w.ControlPlane.Stop())
	}
	return errors.Join(errs...)
}

// LogPaths lists the log files of every process of both clusters.
func (w *World) LogPaths() []string {
	return append(w.ControlPlane.LogPaths(), w.App.LogPaths()...)
}

// LogOnFailure makes t log the tail of every log of the world if t fails.
func (w *World) LogOnFailure(t testing.TB) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range w.LogPaths() {
				t.Logf("--- last lines of %s ---\n%s", p, tailFile(p, logTailLines))
			}
		}
	})
}

// StartConnector builds and starts mcp-connector between the world's app
// cluster and the control-plane namespace (which the caller creates), with
// leader election off and free loopback ports. It is stopped when t ends, and
// its log tail is logged if t failed.
func (w *World) StartConnector(t testing.TB, namespace, clusterID string, extraArgs ...string) *Connector {
	t.Helper()
	cfg, err := NewConnectorConfig(w.App, w.ControlPlane.Env, namespace, clusterID)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ExtraArgs = extraArgs
	p, err := StartConnector(context.Background(), t.TempDir(), cfg.Args()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("--- last lines of %s ---\n%s", p.LogPath(), p.Tail(logTailLines))
		}
	})
	return &Connector{Process: p, Config: cfg}
}

// logTailLines is how much of each log a failed test shows.
const logTailLines = 40

// String names the world's clusters by their API server addresses.
func (w *World) String() string {
	line := "Crossplane v1.20"
	if w.ControlPlane.V2 {
		line = "Crossplane v2"
	}
	return fmt.Sprintf("control plane %s (%s), app cluster %s", w.ControlPlane.Config.Host, line, w.App.Config.Host)
}
