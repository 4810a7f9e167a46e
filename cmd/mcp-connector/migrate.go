//go:build !runonly

package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/mcp-connector/mcp-connector/cmd/lifecycle"
)

// MigrateUpboundOptions are the arguments and flags of `mcp-connector
// migrate upbound`.
type MigrateUpboundOptions struct {
	lifecycle.MigrateUpbound
}

// AddFlags binds the options to a flag set.
func (o *MigrateUpboundOptions) AddFlags(fs *pflag.FlagSet) {
	addClusterFlags(fs, &o.Cluster)
	fs.StringVar(&o.ControlPlaneKubeconfig, "control-plane-kubeconfig", o.ControlPlaneKubeconfig, "Kubeconfig of the control plane (credentials that may list the XRDs and patch the claims and XRs).")
	fs.StringVar(&o.UpboundClusterID, "upbound-cluster-id", o.UpboundClusterID, "The cluster id Upbound's MCP Connector used for this cluster (label mcp-connector.upbound.io/app-cluster of its objects).")
	fs.StringVar(&o.ClusterID, "cluster-id", o.ClusterID, "This cluster's id for mcp-connector, as install will use it (default: the uid of its kube-system namespace).")
	fs.BoolVar(&o.Yes, "yes", o.Yes, "Mark the claims and XRs to import; without it nothing is written.")
}

// Complete takes the argument and where to print.
func (o *MigrateUpboundOptions) Complete(args []string, out io.Writer) {
	o.ControlPlaneNamespace = args[0]
	o.Cluster.Version, o.Out, o.ClusterIDOf = version, out, clusterIDOf
}

// Validate checks the argument and flags without a cluster.
func (o *MigrateUpboundOptions) Validate() error {
	var errs []error
	if msgs := validation.IsDNS1123Label(o.ControlPlaneNamespace); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("namespace-in-control-plane %q is not a valid namespace name: %s", o.ControlPlaneNamespace, strings.Join(msgs, "; ")))
	}
	if o.ControlPlaneKubeconfig == "" {
		errs = append(errs, errors.New("--control-plane-kubeconfig is required"))
	}
	if o.UpboundClusterID == "" || len(validation.IsValidLabelValue(o.UpboundClusterID)) > 0 {
		errs = append(errs, fmt.Errorf("--upbound-cluster-id %q must be the label value Upbound's connector used", o.UpboundClusterID))
	}
	return errors.Join(errs...)
}

func newMigrateCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "migrate", Short: "Take over claims and XRs another connector made in the control plane"}
	o := &MigrateUpboundOptions{MigrateUpbound: lifecycle.MigrateUpbound{Cluster: lifecycle.Cluster{Namespace: DefaultReleaseNamespace}}}
	up := &cobra.Command{
		Use:   "upbound <namespace-in-control-plane>",
		Short: "Migrate in place from Upbound's MCP Connector (dry run unless --yes)",
		Long: `Find the claims and namespaced XRs (Crossplane v2) Upbound's MCP Connector made for this
cluster in <namespace-in-control-plane> and print what a migration does with each: import it (a
local copy, synced from then on, the remote object kept with its name, composite and resources),
or a conflict (a local object of that name exists, its namespace is missing). With --yes, marks
them to import; the connector installed for the namespace then imports them. See
docs/migrate-from-upbound.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Complete(args, cmd.OutOrStdout())
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.AddFlags(up.Flags())
	cmd.AddCommand(up)
	return cmd
}
