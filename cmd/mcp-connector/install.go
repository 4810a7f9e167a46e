//go:build !runonly

package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/mcp-connector/mcp-connector/cmd/lifecycle"
)

// InstallOptions are the arguments and flags of `mcp-connector install`:
// the install they ask for.
type InstallOptions struct {
	lifecycle.Install
}

// NewInstallOptions returns the defaults.
func NewInstallOptions() *InstallOptions {
	return &InstallOptions{Install: lifecycle.Install{Cluster: lifecycle.Cluster{Namespace: DefaultReleaseNamespace},
		BaseURL: "https://proxy.upbound.io/v1/controlPlanes", Wait: true, Timeout: 5 * time.Minute,
		TokenLifetime: lifecycle.DefaultTokenLifetime}}
}

// AddFlags binds the options to a flag set.
func (o *InstallOptions) AddFlags(fs *pflag.FlagSet) {
	addClusterFlags(fs, &o.Cluster)
	fs.StringVar(&o.ControlPlaneSecret, "control-plane-secret", o.ControlPlaneSecret, "Existing Secret, in the release namespace, holding the control plane's kubeconfig under key \"kubeconfig\" (Upbound Spaces).")
	fs.StringVar(&o.ControlPlaneKubeconfig, "control-plane-kubeconfig", o.ControlPlaneKubeconfig, "Kubeconfig file of the control plane; stored, self-contained, in a Secret of the release namespace. Its context named <control-plane-name> is used if there is one, else its current context.")
	fs.BoolVar(&o.UseGivenCredentials, "use-given-credentials", o.UseGivenCredentials, "Store the --control-plane-kubeconfig credentials as they are, instead of minting an identity for this cluster in the control plane (what install does when the credentials may).")
	fs.DurationVar(&o.TokenLifetime, "token-lifetime", o.TokenLifetime, "Lifetime of the token of a minted identity.")
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

// Complete takes the two arguments and where to print.
func (o *InstallOptions) Complete(args []string, out io.Writer) {
	o.ControlPlaneName, o.ControlPlaneNamespace = args[0], args[1]
	o.Cluster.Version, o.Out = version, out
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
	if o.credentials() != 1 {
		errs = append(errs, errors.New("give exactly one of --control-plane-secret, --control-plane-kubeconfig and --token"))
	}
	if o.CAFile != "" && o.Token == "" {
		errs = append(errs, errors.New("--control-plane-ca-file is for --token; a kubeconfig carries its own CA"))
	}
	if o.Token != "" && o.Account == "" {
		errs = append(errs, errors.New("--token needs --account: the control plane's URL is <base-url>/<account>/<control-plane-name>/k8s"))
	}
	if o.TokenLifetime != 0 && o.TokenLifetime < 10*time.Minute {
		errs = append(errs, fmt.Errorf("--token-lifetime %s is shorter than the 10m the control plane accepts", o.TokenLifetime))
	}
	if o.ClusterID != "" && len(validation.IsValidLabelValue(o.ClusterID)) > 0 {
		errs = append(errs, fmt.Errorf("--cluster-id %q must be a valid label value", o.ClusterID))
	}
	if o.Cluster.Namespace == "" {
		errs = append(errs, errors.New("--namespace must not be empty"))
	}
	return errors.Join(errs...)
}

// credentials counts the credentials given.
func (o *InstallOptions) credentials() int {
	given := 0
	for _, s := range []string{o.ControlPlaneSecret, o.ControlPlaneKubeconfig, o.Token} {
		if s != "" {
			given++
		}
	}
	return given
}

func newInstallCommand() *cobra.Command {
	o := NewInstallOptions()
	cmd := &cobra.Command{
		Use:   "install <control-plane-name> <namespace-in-control-plane>",
		Short: "Install the connector into this cluster as a Helm release and wait for the control plane's APIs",
		Long: `Install the connector (the chart embedded in this binary) as the Helm release
mcp-connector-<namespace-in-control-plane>, so that helm sees it too. Creates the
control-plane namespace when the credentials allow it, then waits until the connector
reports the control plane's claim APIs mirrored. Given a kubeconfig whose credentials
may, it mints an identity for this cluster in the control plane (a ServiceAccount with
least-privilege RBAC) and stores only its token (--use-given-credentials opts out).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Complete(args, cmd.OutOrStdout())
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}
