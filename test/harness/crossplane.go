package harness

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Crossplane's and provider-nop's poll intervals: short, so that drift and
// the conditionAfter timers of provider-nop resolve quickly in tests.
const (
	crossplanePollInterval = "2s"
	providerNopPoll        = "2s"
)

// provider-nop's fixed listen addresses (no flag changes them).
var providerNopPorts = []string{"8080", "9443"}

// crossplaneCRDDirs returns the CRD directories of the pinned Crossplane and
// provider-nop modules.
func crossplaneCRDDirs() ([]string, error) {
	xp, err := ModuleDir("crossplane", "github.com/crossplane/crossplane")
	if err != nil {
		return nil, err
	}
	nop, err := ModuleDir("provider-nop", "github.com/crossplane-contrib/provider-nop")
	if err != nil {
		return nil, err
	}
	return []string{filepath.Join(xp, "cluster", "crds"), filepath.Join(nop, "package", "crds")}, nil
}

// startCrossplane runs `crossplane core start` against the control plane.
func (cp *ControlPlane) startCrossplane(tlsDir string) error {
	path, err := binCrossplane.path()
	if err != nil {
		return err
	}
	cmd := exec.Command(path, "--debug", "core", "start",
		"--namespace=crossplane-system",
		"--enable-webhooks=false",
		"--tls-client-certs-dir="+tlsDir,
		"--tls-server-certs-dir="+tlsDir,
		"--cache-dir="+filepath.Join(cp.Dir, "xpkg-cache"),
		"--metrics-port=0",
		"--health-probe-port=0",
		"--poll-interval="+crossplanePollInterval,
	)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cp.Kubeconfig)
	cp.Crossplane, err = startProcess("crossplane", filepath.Join(cp.Dir, "crossplane.log"), cmd)
	return err
}

// startProviderNop runs provider-nop against the control plane.
func (cp *ControlPlane) startProviderNop(tlsDir string) error {
	path, err := binProviderNop.path()
	if err != nil {
		return err
	}
	if err := checkPortsFree(providerNopPorts); err != nil {
		return fmt.Errorf("provider-nop needs ports %v: %w", providerNopPorts, err)
	}
	cmd := exec.Command(path, "--poll="+providerNopPoll)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cp.Kubeconfig, "TLS_SERVER_CERTS_DIR="+tlsDir)
	cp.ProviderNop, err = startProcess("provider-nop", filepath.Join(cp.Dir, "provider-nop.log"), cmd)
	return err
}

// waitProviderNop waits until provider-nop serves its metrics, which it does
// once its manager runs.
func (cp *ControlPlane) waitProviderNop(ctx context.Context) error {
	hc := &http.Client{Timeout: time.Second}
	return Poll(ctx, time.Minute, func() error {
		if err := cp.ProviderNop.errIfExited(); err != nil {
			return err
		}
		resp, err := hc.Get("http://127.0.0.1:8080/metrics")
		if err != nil {
			return fmt.Errorf("provider-nop metrics: %w", err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("provider-nop metrics: %s", resp.Status)
		}
		return nil
	})
}

// checkPortsFree fails if another process listens on one of the ports.
func checkPortsFree(ports []string) error {
	for _, p := range ports {
		l, err := net.Listen("tcp", ":"+p)
		if err != nil {
			return fmt.Errorf("port %s is in use (another control plane, or something else on this machine): %w", p, err)
		}
		_ = l.Close()
	}
	return nil
}
