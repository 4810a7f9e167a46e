package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// demoDir is <repo>/.demo: kubeconfigs, logs and the clusters' data.
type demoDir struct{ root string }

// newDemoDir empties the demo directory of a previous run: each run starts
// fresh clusters.
func newDemoDir() (demoDir, error) {
	repo, err := harness.RepoRoot()
	if err != nil {
		return demoDir{}, err
	}
	d := demoDir{root: filepath.Join(repo, ".demo")}
	if err := os.RemoveAll(d.root); err != nil {
		return demoDir{}, fmt.Errorf("clean %s: %w", d.root, err)
	}
	return d, os.MkdirAll(d.root, 0o755)
}

func (d demoDir) appKubeconfig() string {
	return filepath.Join(d.root, "app.kubeconfig")
}

func (d demoDir) controlPlaneKubeconfig() string {
	return filepath.Join(d.root, "control-plane.kubeconfig")
}

// writeKubeconfigs copies the clusters' admin kubeconfigs to their
// well-known names.
func (d demoDir) writeKubeconfigs(w *harness.World) error {
	for src, dst := range map[string]string{
		w.App.Kubeconfig:          d.appKubeconfig(),
		w.ControlPlane.Kubeconfig: d.controlPlaneKubeconfig(),
	} {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", dst, err)
		}
	}
	return nil
}
