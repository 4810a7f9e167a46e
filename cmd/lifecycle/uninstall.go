package lifecycle

import (
	"context"
	"fmt"
	"io"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Uninstall disconnects the app cluster from one control-plane namespace,
// keeping every claim in the control plane.
type Uninstall struct {
	Cluster Cluster
	// ControlPlaneNamespace says which connection to remove.
	ControlPlaneNamespace string
	// ControlPlaneKubeconfig overrides the credentials the release uses.
	ControlPlaneKubeconfig string
	// Timeout bounds each wait (connector stopped, objects gone).
	Timeout time.Duration
	// ClusterIDOf derives the cluster's id when the release sets none: it
	// must be the derivation the connector itself uses (`run`), or the
	// uninstall would look for the wrong cluster's claims.
	ClusterIDOf func(context.Context, *rest.Config) (string, error)
	// Out receives the progress lines.
	Out io.Writer
}

// uninstallRun is one run of the uninstall, with what it learnt on the way.
type uninstallRun struct {
	*Uninstall
	appCfg   *rest.Config
	app      client.Client
	helm     *action.Configuration
	release  *release.Release
	settings releaseSettings
	// selectors find the connector's pods (step 1); cp is the control plane
	// (step 2).
	selectors []client.MatchingLabels
	cp        client.Client
}

// step is one step of the uninstall.
type step struct {
	what string
	run  func(context.Context) error
}

// steps are the uninstall's steps in the one order that can never delete
// anything in the control plane; each starts only once the one before it
// succeeded.
func (u *uninstallRun) steps() []step {
	return []step{
		{"Stopping the connector", u.stopConnector},
		{"Orphaning the claims in the control plane (they stay, with their composite and cloud resources)", u.orphanRemote},
		{"Removing the local claims, their connection Secrets and the mirrored CRDs", u.cleanLocal},
		{"Removing the Connection and the Helm release", u.removeRelease},
		{"Removing this cluster's identity in the control plane", u.removeIdentity},
	}
}

// Run disconnects the app cluster from the control-plane namespace in an
// order that can never delete anything in the control plane: the connector
// stops first; then every remote claim is let go of (orphaned) while the
// local copies still exist; only then do the local copies, their Secrets and
// the mirrored CRDs go; the release goes last.
func (un *Uninstall) Run(ctx context.Context) error {
	u, err := un.start(ctx)
	if err != nil {
		return err
	}
	steps := u.steps()
	for i, s := range steps {
		say(un.Out, "[%d/%d] %s\n", i+1, len(steps), s.what)
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return nil
}

// start finds the release and reads back the settings install gave it.
func (un *Uninstall) start(ctx context.Context) (*uninstallRun, error) {
	u := &uninstallRun{Uninstall: un}
	var err error
	if u.appCfg, u.app, err = un.Cluster.client(); err != nil {
		return nil, err
	}
	if u.helm, err = un.Cluster.helmConfig(); err != nil {
		return nil, err
	}
	if u.release, err = findRelease(u.helm, un.ControlPlaneNamespace); err != nil {
		return nil, err
	}
	if u.release == nil {
		return nil, fmt.Errorf("no connector for control-plane namespace %s is installed in namespace %s (no Helm release %s; pass -n for another namespace)",
			un.ControlPlaneNamespace, un.Cluster.Namespace, ReleaseName(un.ControlPlaneNamespace))
	}
	get := action.NewGetValues(u.helm)
	get.AllValues = true
	values, err := get.Run(u.release.Name)
	if err != nil {
		return nil, fmt.Errorf("read the values of Helm release %s: %w", u.release.Name, err)
	}
	u.settings = settingsOf(values, u.release.Namespace)
	if u.settings.ClusterID == "" {
		if u.settings.ClusterID, err = un.ClusterIDOf(ctx, u.appCfg); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// pollUntil calls f every 500 ms until it is done, fails, or timeout passes.
func pollUntil(ctx context.Context, timeout time.Duration, f func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		done, err := f()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up after %s", timeout)
		case <-tick.C:
		}
	}
}
