package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

const (
	// controlPlaneNamespace is the app cluster's namespace in the control plane.
	controlPlaneNamespace = "demo-app-cluster"
	clusterID             = "demo"
	startTimeout          = 5 * time.Minute
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	check := flag.Bool("check", false, "Bring everything up, apply both examples with kubectl, wait for each to be Ready with its Secret, and exit")
	flag.Parse()
	// envtest logs through controller-runtime; the demo prints its own progress.
	ctrllog.SetLogger(logr.Discard())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := newDemoDir()
	if err != nil {
		return err
	}
	w, err := startWorld(ctx, d)
	if err != nil {
		return err
	}
	defer stopWorld(w)
	conn := startConnector(w, d)
	if *check {
		return runCheck(ctx, w, d, conn)
	}
	printTryThis(d, conn)
	waitForEnd(ctx, conn)
	return nil
}

// startWorld starts both clusters in the demo directory, writes their
// kubeconfigs and creates the app cluster's namespace in the control plane.
func startWorld(ctx context.Context, d demoDir) (*harness.World, error) {
	fmt.Println("Starting the control plane (kube-apiserver, Crossplane v2, function-patch-and-transform) and the app cluster...")
	start := time.Now()
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	w, err := harness.StartWorldWithOptions(startCtx, harness.WorldOptions{Dir: d.root, CrossplaneV2: true})
	if err != nil && ctx.Err() != nil {
		return nil, errors.New("interrupted while starting the clusters")
	}
	if err != nil {
		return nil, fmt.Errorf("start clusters (logs in %s): %w", d.root, err)
	}
	fmt.Printf("Clusters up in %s.\n", time.Since(start).Round(100*time.Millisecond))
	if err := d.writeKubeconfigs(w); err != nil {
		stopWorld(w)
		return nil, err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: controlPlaneNamespace}}
	if err := w.ControlPlane.Client.Create(ctx, ns); err != nil {
		stopWorld(w)
		return nil, fmt.Errorf("create namespace %s in the control plane: %w", controlPlaneNamespace, err)
	}
	return w, nil
}

func stopWorld(w *harness.World) {
	fmt.Println("Stopping the clusters...")
	if err := w.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "demo: stop:", err)
	}
}

// connector is the running connector, or why there is none.
type connector struct {
	process *harness.Process
	err     error
}

// startConnector builds and starts mcp-connector between the clusters. A
// connector that does not build or start is reported, not fatal: the clusters
// stay up to be explored.
func startConnector(w *harness.World, d demoDir) connector {
	fmt.Println("Building and starting mcp-connector...")
	cfg, err := harness.NewConnectorConfig(w.App, w.ControlPlane.Env, controlPlaneNamespace, clusterID)
	if err != nil {
		return connector{err: err}
	}
	cfg.AppKubeconfig, cfg.ControlPlaneKubeconfig = d.appKubeconfig(), d.controlPlaneKubeconfig()
	p, err := harness.StartConnector(context.Background(), d.root, cfg.Args()...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "\n*** mcp-connector is NOT running: %v\n*** The clusters stay up; fix the connector and run `make run` again.\n\n", err)
		return connector{err: err}
	}
	return connector{process: p}
}

// waitForEnd waits for Ctrl-C or SIGTERM, reporting a connector that exits
// on its own meanwhile, then stops the connector.
func waitForEnd(ctx context.Context, conn connector) {
	if conn.process == nil {
		<-ctx.Done()
		return
	}
	select {
	case <-ctx.Done():
	case <-conn.process.Done():
		_, err := conn.process.Exited()
		fmt.Fprintf(os.Stderr, "\n*** mcp-connector exited (%v); see %s. The clusters stay up until Ctrl-C.\n", err, rel(conn.process.LogPath()))
		<-ctx.Done()
	}
	stopConnector(conn)
}

func stopConnector(conn connector) {
	if conn.process == nil {
		return
	}
	if err := conn.process.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "demo: stop mcp-connector:", err)
	}
}

// errCheck marks a failed --check.
var errCheck = errors.New("check failed")

// rel returns path relative to the working directory when that is shorter.
func rel(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if r, err := filepath.Rel(wd, path); err == nil && len(r) < len(path) {
		return r
	}
	return path
}
