//go:build !runonly

package main

import (
	"errors"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mcp-connector/mcp-connector/cmd/lifecycle"
)

// ReleaseOptions are the arguments and flags of `mcp-connector release`.
type ReleaseOptions struct {
	lifecycle.ReleaseClaims
}

// NewReleaseOptions returns the defaults.
func NewReleaseOptions() *ReleaseOptions {
	return &ReleaseOptions{ReleaseClaims: lifecycle.ReleaseClaims{Cluster: lifecycle.Cluster{Namespace: DefaultReleaseNamespace}}}
}

// AddFlags binds the options to a flag set.
func (o *ReleaseOptions) AddFlags(fs *pflag.FlagSet) {
	addClusterFlags(fs, &o.Cluster)
	fs.StringVar(&o.Filter.Namespace, "claim-namespace", o.Filter.Namespace, "Release only claims in this namespace of the app cluster (default: every namespace).")
	fs.BoolVar(&o.Yes, "yes", o.Yes, "Release the claims listed; without it nothing is changed.")
}

// Complete takes the arguments and where to print, and derives the cluster
// id as `run` does when the release sets none.
func (o *ReleaseOptions) Complete(args []string, out io.Writer) {
	o.ControlPlaneNamespace, o.Filter.Names = args[0], args[1:]
	o.Cluster.Version, o.Out, o.ClusterIDOf = version, out, clusterIDOf
}

// Validate checks the arguments.
func (o *ReleaseOptions) Validate() error {
	if o.ControlPlaneNamespace == "" {
		return errors.New("namespace-in-control-plane must not be empty")
	}
	if o.Cluster.Namespace == "" {
		return errors.New("--namespace must not be empty")
	}
	for _, n := range o.Filter.Names {
		if n == "" {
			return errors.New("a claim name must not be empty")
		}
	}
	return nil
}

// print says what was found and what was done.
func (o *ReleaseOptions) print(res lifecycle.ReleaseResult) {
	if len(res.LeftBehind) == 0 {
		say(o.Out, "No claim of control-plane namespace %s is stuck deleting: no local claim%s being deleted is held by the finalizer mcp-connector.io/finalizer. Nothing to release.\n",
			o.ControlPlaneNamespace, o.scope())
		return
	}
	say(o.Out, "%d claim(s) stuck deleting; releasing them leaves behind, in the control plane:\n", len(res.LeftBehind))
	for _, l := range res.LeftBehind {
		say(o.Out, "  %s\n", l)
	}
	if !o.Yes {
		say(o.Out, "Nothing was changed. Run again with --yes to release them: each is recorded in ConfigMap %s, loses the finalizer and goes; "+
			"a connector that reaches the control plane again marks its remote claim orphaned (mcp-connector.io/orphaned: claim-deleted).\n", res.Record)
		return
	}
	for _, r := range res.Released {
		say(o.Out, "Released %s\n", r)
	}
	say(o.Out, "Recorded in ConfigMap %s; the remote claims are marked orphaned when a connector reaches the control plane again.\n", res.Record)
}

// scope says which claims were looked at, for the message that found none.
func (o *ReleaseOptions) scope() string {
	var s []string
	if o.Filter.Namespace != "" {
		s = append(s, "in namespace "+o.Filter.Namespace)
	}
	if len(o.Filter.Names) > 0 {
		s = append(s, "named "+strings.Join(o.Filter.Names, ", "))
	}
	if len(s) == 0 {
		return ""
	}
	return " " + strings.Join(s, " ")
}

func newReleaseCommand() *cobra.Command {
	o := NewReleaseOptions()
	cmd := &cobra.Command{
		Use:   "release <namespace-in-control-plane> [claim-name...] [--claim-namespace NS] [--yes]",
		Short: "Let go of local claims stuck deleting because their control plane does not answer, keeping the remote claims",
		Long: `Let go of local claims stuck deleting: claims deleted in this cluster whose finalizer mcp-connector.io/finalizer
stays because the control plane does not answer (it was retired, the credentials were revoked, another cluster
took the namespace). Nothing is deleted or written in the control plane.

Without --yes it only lists the stuck claims (every mirrored API, or those named, or those in --claim-namespace)
and what releasing each leaves behind: its remote claim stays in the control-plane namespace, with its composite
and cloud resources running. With --yes, each claim is annotated mcp-connector.io/deletion-policy=Orphan,
recorded as a pending orphan in the ConfigMap mcp-connector-pending-orphans of the release namespace, and loses
the finalizer, so it goes even when no connector runs. A connector that reaches the control plane again marks
each recorded remote claim orphaned (its cluster-id label removed, mcp-connector.io/orphaned: claim-deleted), so
that no later claim of the same name takes it over.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Complete(args, cmd.OutOrStdout())
			if err := o.Validate(); err != nil {
				return err
			}
			res, err := o.Run(cmd.Context())
			if err == nil || len(res.Released) > 0 {
				o.print(res)
			}
			return err
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}
