//go:build !runonly

package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/mcp-connector/mcp-connector/cmd/lifecycle"
)

// RBACOptions are the arguments and flags of `mcp-connector rbac`.
type RBACOptions struct {
	lifecycle.RBAC
	out io.Writer
}

// AddFlags binds the options to a flag set.
func (o *RBACOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&o.ClaimGroups, "claim-api-group", o.ClaimGroups, "Claim API group the Role grants; repeatable.")
	fs.StringVar(&o.ControlPlaneKubeconfig, "control-plane-kubeconfig", o.ControlPlaneKubeconfig, "Kubeconfig of the control plane: the Role also grants the claim groups of its XRDs.")
}

// Complete takes the argument and where to print.
func (o *RBACOptions) Complete(args []string, out io.Writer) {
	o.ControlPlaneNamespace, o.Version, o.out = args[0], version, out
}

// Validate checks the argument and flags without a cluster.
func (o *RBACOptions) Validate() error {
	if msgs := validation.IsDNS1123Label(o.ControlPlaneNamespace); len(msgs) > 0 {
		return fmt.Errorf("namespace-in-control-plane %q is not a valid namespace name: %s", o.ControlPlaneNamespace, strings.Join(msgs, "; "))
	}
	for _, g := range o.ClaimGroups {
		if msgs := validation.IsDNS1123Subdomain(g); len(msgs) > 0 {
			return fmt.Errorf("--claim-api-group %q is not a valid API group: %s", g, strings.Join(msgs, "; "))
		}
	}
	if len(o.ClaimGroups) == 0 && o.ControlPlaneKubeconfig == "" {
		return fmt.Errorf("give --claim-api-group, or --control-plane-kubeconfig to read the claim groups from the XRDs")
	}
	return nil
}

func newRBACCommand() *cobra.Command {
	o := &RBACOptions{}
	cmd := &cobra.Command{
		Use:   "rbac <namespace-in-control-plane>",
		Short: "Print, as YAML, the identity install mints for an app cluster in the control plane",
		Long: `Print the ServiceAccount, Role, RoleBinding, ClusterRole and ClusterRoleBinding that
install mints in the control plane for the app cluster holding <namespace-in-control-plane>,
for administrators who provision by GitOps (kubectl apply -f - to apply them by hand).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Complete(args, cmd.OutOrStdout())
			if err := o.Validate(); err != nil {
				return err
			}
			b, err := o.YAML(cmd.Context())
			if err != nil {
				return err
			}
			_, err = o.out.Write(b)
			return err
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}
