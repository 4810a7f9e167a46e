package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/strvals"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
)

// LabelCreatedBy marks the objects the CLI creates outside the Helm release
// (the control-plane kubeconfig Secret), so that uninstall removes them too.
const LabelCreatedBy = "mcp-connector.io/created-by"

// InstallOptions are the arguments and flags of `mcp-connector install`.
type InstallOptions struct {
	Cluster ClusterOptions
	// ControlPlaneName and ControlPlaneNamespace are the two arguments.
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
	// ClusterID overrides the cluster's identity (chart value clusterID).
	ClusterID   string
	ValuesFiles []string
	Set         []string
	Wait        bool
	Timeout     time.Duration

	out io.Writer
}

// NewInstallOptions returns the defaults.
func NewInstallOptions(out io.Writer) *InstallOptions {
	return &InstallOptions{Cluster: ClusterOptions{Namespace: DefaultReleaseNamespace},
		BaseURL: "https://proxy.upbound.io/v1/controlPlanes", Wait: true, Timeout: 5 * time.Minute, out: out}
}

// AddFlags binds the options to a flag set.
func (o *InstallOptions) AddFlags(fs *pflag.FlagSet) {
	o.Cluster.AddFlags(fs)
	fs.StringVar(&o.ControlPlaneSecret, "control-plane-secret", o.ControlPlaneSecret, "Existing Secret, in the release namespace, holding the control plane's kubeconfig under key \"kubeconfig\" (Upbound Spaces).")
	fs.StringVar(&o.ControlPlaneKubeconfig, "control-plane-kubeconfig", o.ControlPlaneKubeconfig, "Kubeconfig file of the control plane; stored, self-contained, in a Secret of the release namespace. Its context named <control-plane-name> is used if there is one, else its current context.")
	fs.StringVar(&o.Token, "token", o.Token, "Upbound API token (Upbound Cloud); needs --account.")
	fs.StringVar(&o.Account, "account", o.Account, "Upbound organisation owning the control plane (token mode).")
	fs.StringVar(&o.BaseURL, "base-url", o.BaseURL, "Base URL of Upbound's control-plane proxy (token mode).")
	fs.StringVar(&o.CAFile, "control-plane-ca-file", o.CAFile, "PEM CA bundle of the control plane's serving certificate (token mode; default: system roots).")
	fs.StringVar(&o.ClusterID, "cluster-id", o.ClusterID, "Identity of this cluster in the control plane (default: the uid of its kube-system namespace). Never change it for a cluster.")
	fs.StringSliceVarP(&o.ValuesFiles, "values", "f", o.ValuesFiles, "Chart values file; repeatable (see the chart's values.yaml).")
	fs.StringArrayVar(&o.Set, "set", o.Set, "Chart value key=value; repeatable.")
	fs.BoolVar(&o.Wait, "wait", o.Wait, "Wait until the connector reports the control plane's APIs mirrored.")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for the APIs.")
}

// Validate checks the arguments and flags without a cluster.
func (o *InstallOptions) Validate() error {
	var errs []error
	if msgs := validation.IsDNS1123Label(o.ControlPlaneNamespace); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("namespace-in-control-plane %q is not a valid namespace name: %s", o.ControlPlaneNamespace, strings.Join(msgs, "; ")))
	}
	if o.ControlPlaneName == "" {
		errs = append(errs, errors.New("control-plane-name must not be empty"))
	}
	given := 0
	for _, s := range []string{o.ControlPlaneSecret, o.ControlPlaneKubeconfig, o.Token} {
		if s != "" {
			given++
		}
	}
	if given != 1 {
		errs = append(errs, errors.New("give exactly one of --control-plane-secret, --control-plane-kubeconfig and --token"))
	}
	if o.CAFile != "" && o.Token == "" {
		errs = append(errs, errors.New("--control-plane-ca-file is for --token; a kubeconfig carries its own CA"))
	}
	if o.Token != "" && o.Account == "" {
		errs = append(errs, errors.New("--token needs --account: the control plane's URL is <base-url>/<account>/<control-plane-name>/k8s"))
	}
	if o.ClusterID != "" && len(validation.IsValidLabelValue(o.ClusterID)) > 0 {
		errs = append(errs, fmt.Errorf("--cluster-id %q must be a valid label value", o.ClusterID))
	}
	if o.Cluster.Namespace == "" {
		errs = append(errs, errors.New("--namespace must not be empty"))
	}
	return errors.Join(errs...)
}

// Values returns the chart values: files, then --set, then what the
// arguments and credential flags say (kubeconfigSecret is the Secret install
// writes for --control-plane-kubeconfig).
func (o *InstallOptions) Values(kubeconfigSecret string) (map[string]any, error) {
	vals := map[string]any{}
	for _, f := range o.ValuesFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read values file: %w", err)
		}
		m := map[string]any{}
		if err := yaml.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("parse values file %s: %w", f, err)
		}
		vals = chartutil.MergeTables(m, vals)
	}
	for _, s := range o.Set {
		if err := strvals.ParseInto(s, vals); err != nil {
			return nil, fmt.Errorf("--set %s: %w", s, err)
		}
	}
	setAt(vals, o.ControlPlaneNamespace, "mcp", "namespace")
	setAt(vals, o.ControlPlaneName, "mcp", "name")
	if o.ClusterID != "" {
		setAt(vals, o.ClusterID, "clusterID")
	}
	return vals, o.credentialValues(vals, kubeconfigSecret)
}

// credentialValues sets the chart values of the one credential given.
func (o *InstallOptions) credentialValues(vals map[string]any, kubeconfigSecret string) error {
	switch {
	case o.ControlPlaneSecret != "":
		setAt(vals, o.ControlPlaneSecret, "mcp", "secret", "name")
	case o.ControlPlaneKubeconfig != "":
		setAt(vals, kubeconfigSecret, "controlPlane", "kubeconfigSecret", "name")
	default:
		setAt(vals, o.Token, "mcp", "token")
		setAt(vals, o.Account, "mcp", "account")
		setAt(vals, o.BaseURL, "mcp", "baseURL")
		if o.CAFile != "" {
			ca, err := os.ReadFile(o.CAFile)
			if err != nil {
				return fmt.Errorf("read --control-plane-ca-file: %w", err)
			}
			setAt(vals, string(ca), "mcp", "caBundle")
		}
	}
	return nil
}

// kubeconfigSecretName is the Secret install writes for
// --control-plane-kubeconfig.
func kubeconfigSecretName(release string) string { return release + "-control-plane-kubeconfig" }

// Run installs the release and waits for the APIs.
func (o *InstallOptions) Run(ctx context.Context) error {
	appCfg, err := o.Cluster.RESTConfig()
	if err != nil {
		return err
	}
	app, err := client.New(appCfg, client.Options{Scheme: newScheme()})
	if err != nil {
		return fmt.Errorf("connect to the app cluster: %w", err)
	}
	hcfg, err := o.Cluster.helmConfig()
	if err != nil {
		return err
	}
	release := ReleaseName(o.ControlPlaneNamespace)
	vals, err := o.Values(kubeconfigSecretName(release))
	if err != nil {
		return err
	}
	if err := o.checkNotInstalled(ctx, hcfg, app, connectionName(vals)); err != nil {
		return err
	}
	if err := ensureAppNamespace(ctx, app, o.Cluster.Namespace); err != nil {
		return err
	}
	cp, err := o.controlPlane(ctx, app, vals)
	if err != nil {
		return err
	}
	o.prepareControlPlaneNamespace(ctx, cp)
	if err := o.installRelease(ctx, hcfg, release, vals); err != nil {
		return err
	}
	if !o.Wait {
		return nil
	}
	return waitForAPIs(ctx, o.out, app, o.Cluster.Namespace, release, connectionName(vals), o.Timeout)
}

// checkNotInstalled refuses a second connector for the control-plane
// namespace: a release of it in the release namespace, or a Connection of
// that name reported by any connector of the cluster.
func (o *InstallOptions) checkNotInstalled(ctx context.Context, hcfg *action.Configuration, app client.Client, connection string) error {
	existing, err := findRelease(hcfg, o.ControlPlaneNamespace)
	if err != nil {
		return err
	}
	if existing != nil {
		return fmt.Errorf("the connector for control-plane namespace %s is already installed: Helm release %s in namespace %s (uninstall it first with `mcp-connector uninstall %s -n %s`, or change it with helm upgrade)",
			o.ControlPlaneNamespace, existing.Name, o.Cluster.Namespace, o.ControlPlaneNamespace, o.Cluster.Namespace)
	}
	return checkNoConnection(ctx, app, connection)
}

// connectionName is the name of the Connection the release's connector
// reports: connectionName, else the control-plane namespace.
func connectionName(vals map[string]any) string {
	if name := stringAt(vals, "connectionName"); name != "" {
		return name
	}
	return stringAt(vals, "mcp", "namespace")
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
// the release will use, storing a kubeconfig file in its Secret first.
func (o *InstallOptions) controlPlane(ctx context.Context, app client.Client, vals map[string]any) (client.Client, error) {
	settings := settingsOf(vals, o.Cluster.Namespace)
	if o.ControlPlaneKubeconfig != "" {
		if err := o.storeKubeconfig(ctx, app, settings.SecretName); err != nil {
			return nil, err
		}
	}
	cfg, err := settings.controlPlaneConfig(ctx, app, o.Cluster.Namespace)
	if err != nil {
		if o.ControlPlaneSecret != "" {
			err = fmt.Errorf("%w (create it first: kubectl -n %s create secret generic %s --from-file=kubeconfig=FILE)", err, o.Cluster.Namespace, o.ControlPlaneSecret)
		}
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: newScheme()})
	if err != nil {
		return nil, fmt.Errorf("connect to the control plane: %w", err)
	}
	return c, nil
}

// storeKubeconfig writes the control plane's kubeconfig, self-contained, into
// a Secret of the release namespace that the chart then mounts.
func (o *InstallOptions) storeKubeconfig(ctx context.Context, app client.Client, name string) error {
	kc, kcContext, err := selfContainedKubeconfig(o.ControlPlaneKubeconfig, o.ControlPlaneName)
	if err != nil {
		return err
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: o.Cluster.Namespace, Name: name,
		Labels: map[string]string{LabelCreatedBy: "cli"}}, Data: map[string][]byte{"kubeconfig": kc}}
	err = app.Create(ctx, s)
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
	say(o.out, "Stored the control plane's kubeconfig (context %s) in Secret %s/%s\n", kcContext, s.Namespace, s.Name)
	return nil
}

// prepareControlPlaneNamespace creates the control-plane namespace when the
// credentials allow; otherwise it says what to do. An unreachable control
// plane is no reason to stop: the connector waits for it.
func (o *InstallOptions) prepareControlPlaneNamespace(ctx context.Context, cp client.Client) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	outcome, err := ensureControlPlaneNamespace(ctx, cp, o.ControlPlaneNamespace)
	switch {
	case err != nil:
		say(o.out, "Warning: could not check namespace %s in the control plane (%v); the connector will keep trying\n", o.ControlPlaneNamespace, err)
	case outcome == namespaceCreated:
		say(o.out, "Created namespace %s in control plane %s\n", o.ControlPlaneNamespace, o.ControlPlaneName)
	case outcome == namespaceExisted:
		say(o.out, "Namespace %s exists in control plane %s\n", o.ControlPlaneNamespace, o.ControlPlaneName)
	default:
		sayln(o.out, namespaceAdvice(o.ControlPlaneNamespace))
	}
}

func (o *InstallOptions) installRelease(ctx context.Context, cfg *action.Configuration, release string, vals map[string]any) error {
	chrt, err := loadChart()
	if err != nil {
		return err
	}
	inst := action.NewInstall(cfg)
	inst.ReleaseName, inst.Namespace = release, o.Cluster.Namespace
	inst.Timeout = o.Timeout
	if _, err := inst.RunWithContext(ctx, chrt, vals); err != nil {
		return fmt.Errorf("install Helm release %s in namespace %s: %w", release, o.Cluster.Namespace, err)
	}
	say(o.out, "Installed Helm release %s (chart %s %s) in namespace %s\n", release, chrt.Metadata.Name, chrt.Metadata.Version, o.Cluster.Namespace)
	return nil
}

func newInstallCommand() *cobra.Command {
	o := NewInstallOptions(os.Stdout)
	cmd := &cobra.Command{
		Use:   "install <control-plane-name> <namespace-in-control-plane>",
		Short: "Install the connector into this cluster as a Helm release and wait for the control plane's APIs",
		Long: `Install the connector (the chart embedded in this binary) as the Helm release
mcp-connector-<namespace-in-control-plane>, so that helm sees it too. Creates the
control-plane namespace when the credentials allow it, then waits until the connector
reports the control plane's claim APIs mirrored.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.ControlPlaneName, o.ControlPlaneNamespace = args[0], args[1]
			o.out = cmd.OutOrStdout()
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// waitForAPIs waits until the Connection reports the control plane reachable
// and every claim API mirrored, printing each change of what it sees.
func waitForAPIs(ctx context.Context, out io.Writer, app client.Client, namespace, release, connection string, timeout time.Duration) error {
	say(out, "Waiting up to %s for the connector to mirror the control plane's APIs (Connection %s)\n", timeout, connection)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p := &progress{out: out}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		done, err := p.observe(ctx, app, namespace, release, connection)
		if done {
			return nil
		}
		if err != nil {
			p.show("read", "Cannot read the connector's state yet: "+err.Error())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the connector did not report the APIs mirrored within %s (last: %s); look at `mcp-connector status %s` and `kubectl -n %s logs deploy/%s`",
				timeout, p.last, connection, namespace, release)
		case <-tick.C:
		}
	}
}

// progress prints a line for each thing whose state changed.
type progress struct {
	out  io.Writer
	seen map[string]string
	last string
}

func (p *progress) show(key, line string) {
	if p.seen == nil {
		p.seen = map[string]string{}
	}
	p.last = line
	if p.seen[key] == line {
		return
	}
	p.seen[key] = line
	sayln(p.out, "  "+line)
}

// observe looks at the Deployment and the Connection once; done is true when
// the Connection is Ready with every API mirrored.
func (p *progress) observe(ctx context.Context, app client.Client, namespace, release, connName string) (bool, error) {
	d := &appsv1.Deployment{}
	if err := app.Get(ctx, client.ObjectKey{Namespace: namespace, Name: release}, d); err == nil {
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		p.show("deployment", fmt.Sprintf("Connector: %d/%d replicas ready", d.Status.ReadyReplicas, want))
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(connection.GVK)
	if err := app.Get(ctx, client.ObjectKey{Name: connName}, u); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			p.show("connection", "Connection "+connName+": not reported yet (the connector writes it once it runs and leads)")
			return false, nil
		}
		return false, err
	}
	v := viewConnection(u)
	p.showConnection(v)
	if !v.isTrue(connection.ConditionReady) || !v.isTrue(connection.ConditionMirrored) {
		return false, nil
	}
	say(p.out, "Connected: %d APIs mirrored from %s into this cluster. See `mcp-connector status %s`.\n", len(v.mirrored()), v.ControlPlane, v.ControlPlaneNamespace)
	return true, nil
}

// showConnection prints what changed in the Connection: reachability, why
// it does not sync yet, each API's state and the summary.
func (p *progress) showConnection(v connectionView) {
	reach := v.Conditions[connection.ConditionReachable]
	line := "Control plane " + v.ControlPlane + ": "
	if reach.Status == "True" {
		line += "reachable"
	} else {
		line += "not reachable yet (" + reach.Reason + ": " + reach.Message + ")"
	}
	p.show("reachable", line)
	if ready := v.Conditions[connection.ConditionReady]; ready.Status != "True" && ready.Reason != "" && reach.Status == "True" {
		p.show("ready", "Not syncing yet: "+ready.Message)
	}
	for _, a := range v.APIs {
		line := "API " + a.Name + ": " + a.State
		if a.Message != "" {
			line += " (" + a.Message + ")"
		}
		p.show("api/"+a.Name, line)
	}
	if v.Summary != "" {
		p.show("summary", "APIs: "+v.Summary)
	}
}
