package lifecycle

import (
	"context"
	"fmt"
	"io"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
)

// LabelCreatedBy marks the objects the CLI creates outside the Helm release
// (the control-plane kubeconfig Secret), so that uninstall removes them too.
const LabelCreatedBy = "mcp-connector.io/created-by"

// Install installs the connector for one control-plane namespace as a Helm
// release of the embedded chart.
type Install struct {
	Cluster Cluster
	// ControlPlaneName and ControlPlaneNamespace say which control plane and
	// which of its namespaces belongs to this cluster.
	ControlPlaneName      string
	ControlPlaneNamespace string
	// Exactly one of the three credentials.
	ControlPlaneSecret     string
	ControlPlaneKubeconfig string
	Token                  string
	// Account and BaseURL complete the token mode's URL; CAFile holds the CA
	// bundle of its serving certificate (default: system roots).
	Account string
	BaseURL string
	CAFile  string
	// UseGivenCredentials stores the given kubeconfig as it is; otherwise,
	// when its credentials may, install mints an identity for this cluster in
	// the control plane and stores only its token (identity.go), valid for
	// TokenLifetime.
	UseGivenCredentials bool
	TokenLifetime       time.Duration
	// ClusterID overrides the cluster's identity (chart value clusterID).
	ClusterID   string
	ValuesFiles []string
	Set         []string
	// Wait for the APIs mirrored, up to Timeout (also Helm's timeout).
	Wait    bool
	Timeout time.Duration
	// Out receives the progress lines.
	Out io.Writer
}

// Run installs the release and, with Wait, waits for the APIs.
func (in *Install) Run(ctx context.Context) error {
	_, app, err := in.Cluster.client()
	if err != nil {
		return err
	}
	hcfg, err := in.Cluster.helmConfig()
	if err != nil {
		return err
	}
	release := ReleaseName(in.ControlPlaneNamespace)
	vals, err := in.Values(kubeconfigSecretName(release))
	if err != nil {
		return err
	}
	existing, err := findRelease(hcfg, in.ControlPlaneNamespace)
	if err != nil {
		return err
	}
	if existing != nil {
		return in.again(ctx, hcfg, app, existing)
	}
	if err := in.prepare(ctx, app, vals); err != nil {
		return err
	}
	if err := in.installRelease(ctx, hcfg, release, vals); err != nil {
		return err
	}
	if !in.Wait {
		return nil
	}
	return waitForAPIs(ctx, in.Out, app, in.Cluster.Namespace, release, connectionName(vals), in.Timeout)
}

// prepare checks that no connector reports the Connection, then creates
// the release namespace, the kubeconfig Secret and the control-plane
// namespace as far as the credentials allow.
func (in *Install) prepare(ctx context.Context, app client.Client, vals map[string]any) error {
	if err := checkNoConnection(ctx, app, connectionName(vals)); err != nil {
		return err
	}
	if err := ensureAppNamespace(ctx, app, in.Cluster.Namespace); err != nil {
		return err
	}
	cp, minted, err := in.controlPlane(ctx, app, vals)
	if err != nil {
		return err
	}
	if !minted { // a minted identity was given its namespace already
		in.prepareControlPlaneNamespace(ctx, cp)
	}
	// A record left by an earlier install of this connection must not make
	// the new connector take a missing holder record for a deleted namespace.
	_, err = ResetState(ctx, app, in.Cluster.Namespace, connectionName(vals))
	return err
}

// again answers an install for a control-plane namespace whose connector is
// installed: when the namespace was deleted, it is re-opened (reopen.go);
// otherwise a second connector is refused.
func (in *Install) again(ctx context.Context, hcfg *action.Configuration, app client.Client, existing *release.Release) error {
	reopened, err := in.reopen(ctx, hcfg, app, existing)
	if reopened {
		return err
	}
	installed := fmt.Errorf("the connector for control-plane namespace %s is already installed: Helm release %s in namespace %s (uninstall it first with `mcp-connector uninstall %s -n %s`, or change it with helm upgrade)",
		in.ControlPlaneNamespace, existing.Name, in.Cluster.Namespace, in.ControlPlaneNamespace, in.Cluster.Namespace)
	if err != nil {
		return fmt.Errorf("%w; whether its control-plane namespace was deleted could not be checked: %w", installed, err)
	}
	return installed
}

// checkNoConnection refuses to install a second connector under a
// Connection name in use: another release, another namespace, or a connector
// run by hand already reports it.
func checkNoConnection(ctx context.Context, app client.Client, name string) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(connection.GVK)
	err := app.Get(ctx, client.ObjectKey{Name: name}, u)
	switch {
	case err == nil:
		return fmt.Errorf("a connector already reports Connection %s in this cluster (see `mcp-connector status %s`); uninstall it first, or set connectionName", name, name)
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return nil
	}
	return fmt.Errorf("check for an existing Connection %s: %w", name, err)
}

func ensureAppNamespace(ctx context.Context, app client.Client, name string) error {
	err := app.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s in the app cluster: %w", name, err)
	}
	return nil
}

// controlPlane returns a client of the control plane from the credentials
// the release will use, storing a kubeconfig file in its Secret first: the
// token of a minted identity (then minted is true), or the given one.
func (in *Install) controlPlane(ctx context.Context, app client.Client, vals map[string]any) (_ client.Client, minted bool, err error) {
	settings := settingsOf(vals, in.Cluster.Namespace)
	if in.ControlPlaneKubeconfig != "" {
		kc, kcContext, err := selfContainedKubeconfig(in.ControlPlaneKubeconfig, in.ControlPlaneName)
		if err != nil {
			return nil, false, err
		}
		if !in.UseGivenCredentials {
			if kc, minted, err = in.mint(ctx, kc); err != nil {
				return nil, false, err
			}
		}
		if err := in.storeKubeconfig(ctx, app, settings.SecretName, kc, kcContext); err != nil {
			return nil, false, err
		}
	}
	cfg, err := settings.controlPlaneConfig(ctx, app, in.Cluster.Namespace, in.Cluster.Version)
	if err != nil {
		if in.ControlPlaneSecret != "" {
			err = fmt.Errorf("%w (create it first: kubectl -n %s create secret generic %s --from-file=kubeconfig=FILE)", err, in.Cluster.Namespace, in.ControlPlaneSecret)
		}
		return nil, false, err
	}
	c, err := newClient(cfg)
	if err != nil {
		return nil, false, fmt.Errorf("connect to the control plane: %w", err)
	}
	return c, minted, nil
}

// storeKubeconfig writes the control plane's kubeconfig, self-contained, into
// a Secret of the release namespace that the chart then mounts.
func (in *Install) storeKubeconfig(ctx context.Context, app client.Client, name string, kc []byte, kcContext string) error {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: in.Cluster.Namespace, Name: name,
		Labels: map[string]string{LabelCreatedBy: "cli"}}, Data: map[string][]byte{"kubeconfig": kc}}
	err := app.Create(ctx, s)
	if apierrors.IsAlreadyExists(err) {
		cur := &corev1.Secret{}
		if err = app.Get(ctx, client.ObjectKeyFromObject(s), cur); err == nil {
			if cur.Labels[LabelCreatedBy] != "cli" {
				return fmt.Errorf("the Secret %s/%s exists and was not written by mcp-connector install; delete it or pass --control-plane-secret %s", s.Namespace, s.Name, s.Name)
			}
			cur.Data = s.Data
			err = app.Update(ctx, cur)
		}
	}
	if err != nil {
		return fmt.Errorf("store the control-plane kubeconfig in Secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	say(in.Out, "Stored the control plane's kubeconfig (context %s) in Secret %s/%s\n", kcContext, s.Namespace, s.Name)
	return nil
}

// prepareControlPlaneNamespace creates the control-plane namespace when the
// credentials allow; otherwise it says what to do. An unreachable control
// plane is no reason to stop: the connector waits for it.
func (in *Install) prepareControlPlaneNamespace(ctx context.Context, cp client.Client) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	outcome, err := ensureControlPlaneNamespace(ctx, cp, in.ControlPlaneNamespace)
	switch {
	case err != nil:
		say(in.Out, "Warning: could not check namespace %s in the control plane (%v); the connector will keep trying\n", in.ControlPlaneNamespace, err)
	case outcome == namespaceCreated:
		say(in.Out, "Created namespace %s in control plane %s\n", in.ControlPlaneNamespace, in.ControlPlaneName)
	case outcome == namespaceExisted:
		say(in.Out, "Namespace %s exists in control plane %s\n", in.ControlPlaneNamespace, in.ControlPlaneName)
	default:
		sayln(in.Out, namespaceAdvice(in.ControlPlaneNamespace))
	}
}

func (in *Install) installRelease(ctx context.Context, cfg *action.Configuration, release string, vals map[string]any) error {
	chrt, err := loadChart()
	if err != nil {
		return err
	}
	inst := action.NewInstall(cfg)
	inst.ReleaseName, inst.Namespace = release, in.Cluster.Namespace
	inst.Timeout = in.Timeout
	if _, err := inst.RunWithContext(ctx, chrt, vals); err != nil {
		return fmt.Errorf("install Helm release %s in namespace %s: %w", release, in.Cluster.Namespace, err)
	}
	say(in.Out, "Installed Helm release %s (chart %s %s) in namespace %s\n", release, chrt.Metadata.Name, chrt.Metadata.Version, in.Cluster.Namespace)
	return nil
}
