//go:build !runonly

package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mcp-connector/mcp-connector/cmd/lifecycle"
	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/sync/condition"
)

// StatusOptions are the arguments and flags of `mcp-connector status`.
type StatusOptions struct {
	Cluster lifecycle.Cluster
	// ControlPlaneNamespace selects one connection (by its control-plane
	// namespace or its name); empty: all.
	ControlPlaneNamespace string
	out                   io.Writer
}

// AddFlags binds the options to a flag set.
func (o *StatusOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Cluster.Kubeconfig, "kubeconfig", o.Cluster.Kubeconfig, "Kubeconfig of the app cluster (default: $KUBECONFIG, else ~/.kube/config).")
	fs.StringVar(&o.Cluster.Context, "context", o.Cluster.Context, "Context of the kubeconfig to use.")
}

// Complete takes the optional argument and where to print.
func (o *StatusOptions) Complete(args []string, out io.Writer) {
	if len(args) == 1 {
		o.ControlPlaneNamespace = args[0]
	}
	o.Cluster.Version, o.out = version, out
}

// Validate has nothing to refuse: the argument names a Connection or a
// control-plane namespace, any string may be one, and one that matches no
// Connection is reported by lifecycle.Status in the words scripts expect.
func (o *StatusOptions) Validate() error { return nil }

// print prints the connections, a blank line between two.
func (o *StatusOptions) print(conns []lifecycle.ConnectionStatus) error {
	for i, c := range conns {
		if i > 0 {
			sayln(o.out)
		}
		if err := printConnection(o.out, c); err != nil {
			return err
		}
	}
	return nil
}

func printConnection(out io.Writer, c lifecycle.ConnectionStatus) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	say(w, "Connection:\t%s\n", c.Name)
	say(w, "Control plane:\t%s\n", c.ControlPlane)
	say(w, "Namespace:\t%s\n", c.ControlPlaneNamespace)
	say(w, "Cluster id:\t%s\n", c.ClusterID)
	for _, typ := range []string{connection.ConditionReady, connection.ConditionReachable, connection.ConditionMirrored} {
		say(w, "%s:\t%s\n", typ, conditionLine(c.Conditions, typ))
	}
	say(w, "APIs:\t%s\n", c.Summary)
	if err := w.Flush(); err != nil {
		return err
	}
	return printAPIs(out, c)
}

// conditionLine is how status shows one condition of a Connection.
func conditionLine(conds map[string]lifecycle.ConditionView, typ string) string {
	cv, ok := conds[typ]
	if !ok {
		return "unknown (not reported yet)"
	}
	line := cv.Status + " (" + cv.Reason + ")"
	if cv.Status != "True" && cv.Message != "" {
		line += ": " + cv.Message
	}
	return line
}

// printAPIs prints one line per API, with its claims counted by state.
func printAPIs(out io.Writer, c lifecycle.ConnectionStatus) error {
	if len(c.APIs) == 0 {
		return nil
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	sayln(w, "\nAPI\tKIND\tSTATE\tCLAIMS\t"+strings.ToUpper(strings.Join(condition.ClaimStates, "\t")))
	total := map[string]int{}
	for i, a := range c.APIs {
		sayln(w, strings.Join(apiRow(a, c.Claims[i], total), "\t"))
		if a.Message != "" && a.State != connection.StateMirrored {
			say(w, "  %s\t\t\t\n", a.Message)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	say(out, "\nClaims: %s\n", condition.SummarizeClaims(total))
	return nil
}

// apiRow is the table row of one API; its claim counts are added to total.
// An API without counts (no local CRD to count in) shows dashes.
func apiRow(a connection.APIState, counts map[string]int, total map[string]int) []string {
	row := []string{a.Name, a.Kind, a.State}
	if counts == nil {
		for range len(condition.ClaimStates) + 1 {
			row = append(row, "-")
		}
		return row
	}
	n := 0
	for _, s := range condition.ClaimStates {
		n += counts[s]
		total[s] += counts[s]
	}
	row = append(row, fmt.Sprint(n))
	for _, s := range condition.ClaimStates {
		row = append(row, fmt.Sprint(counts[s]))
	}
	return row
}

func newStatusCommand() *cobra.Command {
	o := &StatusOptions{}
	cmd := &cobra.Command{
		Use:   "status [namespace-in-control-plane]",
		Short: "Show the connections of this cluster: APIs mirrored, claims in sync, stale and in conflict",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Complete(args, cmd.OutOrStdout())
			if err := o.Validate(); err != nil {
				return err
			}
			conns, err := lifecycle.Status(cmd.Context(), o.Cluster, o.ControlPlaneNamespace)
			if err != nil {
				return err
			}
			return o.print(conns)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// say prints a line of the CLI's output. A terminal or pipe that fails is
// not worth failing a command for, so the error is dropped on purpose.
func say(w io.Writer, format string, args ...any) { _, _ = fmt.Fprintf(w, format, args...) }

// sayln is say for fmt.Fprintln.
func sayln(w io.Writer, args ...any) { _, _ = fmt.Fprintln(w, args...) }
