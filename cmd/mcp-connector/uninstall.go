//go:build !runonly

package main

import (
	"errors"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mcp-connector/mcp-connector/cmd/lifecycle"
)

// UninstallOptions are the arguments and flags of `mcp-connector uninstall`:
// the uninstall they ask for.
type UninstallOptions struct {
	lifecycle.Uninstall
}

// NewUninstallOptions returns the defaults.
func NewUninstallOptions() *UninstallOptions {
	return &UninstallOptions{Uninstall: lifecycle.Uninstall{Cluster: lifecycle.Cluster{Namespace: DefaultReleaseNamespace}, Timeout: 2 * time.Minute}}
}

// AddFlags binds the options to a flag set.
func (o *UninstallOptions) AddFlags(fs *pflag.FlagSet) {
	addClusterFlags(fs, &o.Cluster)
	fs.StringVar(&o.ControlPlaneKubeconfig, "control-plane-kubeconfig", o.ControlPlaneKubeconfig, "Kubeconfig of the control plane (default: the credentials the release uses).")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for the connector to stop and for objects to go, at each step.")
}

// Complete takes the argument and where to print, and derives the cluster
// id as `run` does (clusterIDOf) when the release sets none.
func (o *UninstallOptions) Complete(args []string, out io.Writer) {
	o.ControlPlaneNamespace = args[0]
	o.Cluster.Version, o.Out, o.ClusterIDOf = version, out, clusterIDOf
}

// Validate checks the arguments.
func (o *UninstallOptions) Validate() error {
	if o.ControlPlaneNamespace == "" {
		return errors.New("namespace-in-control-plane must not be empty")
	}
	if o.Cluster.Namespace == "" {
		return errors.New("--namespace must not be empty")
	}
	return nil
}

func newUninstallCommand() *cobra.Command {
	o := NewUninstallOptions()
	cmd := &cobra.Command{
		Use:   "uninstall <namespace-in-control-plane>",
		Short: "Disconnect this cluster from a control-plane namespace, keeping every claim in the control plane",
		Long: `Disconnect this cluster from a control-plane namespace. Nothing is deleted in the control plane:
1. the connector is stopped (its Deployment scaled to 0; uninstall waits until no pod runs and the Lease is free);
2. every claim of this cluster in the control-plane namespace is orphaned: it keeps its spec, composite and
   cloud resources, loses the label mcp-connector.io/cluster-id and gets mcp-connector.io/orphaned=uninstalled;
3. the local claims lose their finalizer and are deleted, with their connection Secrets and the mirrored CRDs;
4. the Connection and the Helm release are removed.
Installing again for the same namespace brings the claims back.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Complete(args, cmd.OutOrStdout())
			if err := o.Validate(); err != nil {
				return err
			}
			if err := o.Run(cmd.Context()); err != nil {
				return err
			}
			say(o.Out, "Disconnected from control-plane namespace %s. Its claims are kept there; `mcp-connector install` for the same namespace brings them back.\n", o.ControlPlaneNamespace)
			return nil
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}
