package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/sync/condition"
)

// connectionView is what a human needs from a Connection.
type connectionView struct {
	Name                  string
	ControlPlane          string
	ControlPlaneNamespace string
	ClusterID             string
	Summary               string
	Conditions            map[string]conditionView
	APIs                  []connection.APIState
}

type conditionView struct {
	Status, Reason, Message string
}

// viewConnection reads a Connection object.
func viewConnection(u *unstructured.Unstructured) connectionView {
	v := connectionView{Name: u.GetName(), Conditions: map[string]conditionView{}}
	v.ControlPlane, _, _ = unstructured.NestedString(u.Object, "spec", "controlPlane")
	v.ControlPlaneNamespace, _, _ = unstructured.NestedString(u.Object, "spec", "controlPlaneNamespace")
	v.ClusterID, _, _ = unstructured.NestedString(u.Object, "spec", "clusterID")
	v.Summary, _, _ = unstructured.NestedString(u.Object, "status", "summary")
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, raw := range conds {
		if m, ok := raw.(map[string]any); ok {
			t, _ := m["type"].(string)
			s, _ := m["status"].(string)
			r, _ := m["reason"].(string)
			msg, _ := m["message"].(string)
			v.Conditions[t] = conditionView{Status: s, Reason: r, Message: msg}
		}
	}
	apis, _, _ := unstructured.NestedSlice(u.Object, "status", "apis")
	for _, raw := range apis {
		m, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		a := connection.APIState{}
		a.Name, _ = m["name"].(string)
		a.Kind, _ = m["kind"].(string)
		a.Version, _ = m["version"].(string)
		a.XRD, _ = m["xrd"].(string)
		a.State, _ = m["state"].(string)
		a.Message, _ = m["message"].(string)
		v.APIs = append(v.APIs, a)
	}
	return v
}

// isTrue says whether the condition of that type is True.
func (v connectionView) isTrue(typ string) bool { return v.Conditions[typ].Status == "True" }

// mirrored returns the APIs in state Mirrored.
func (v connectionView) mirrored() []connection.APIState {
	var out []connection.APIState
	for _, a := range v.APIs {
		if a.State == connection.StateMirrored {
			out = append(out, a)
		}
	}
	return out
}

// StatusOptions are the arguments and flags of `mcp-connector status`.
type StatusOptions struct {
	Cluster ClusterOptions
	// ControlPlaneNamespace selects one connection; empty: all.
	ControlPlaneNamespace string
	out                   io.Writer
}

// AddFlags binds the options to a flag set.
func (o *StatusOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Cluster.Kubeconfig, "kubeconfig", o.Cluster.Kubeconfig, "Kubeconfig of the app cluster (default: $KUBECONFIG, else ~/.kube/config).")
	fs.StringVar(&o.Cluster.Context, "context", o.Cluster.Context, "Context of the kubeconfig to use.")
}

// Run prints the status of the connections.
func (o *StatusOptions) Run(ctx context.Context) error {
	cfg, err := o.Cluster.RESTConfig()
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: newScheme()})
	if err != nil {
		return fmt.Errorf("connect to the app cluster: %w", err)
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(connection.GVK.GroupVersion().WithKind("ConnectionList"))
	if err := c.List(ctx, list); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return errors.New("no mcp-connector is installed in this cluster (no Connection resource); install one with `mcp-connector install`")
		}
		return fmt.Errorf("list Connections: %w", err)
	}
	found := 0
	for i := range list.Items {
		v := viewConnection(&list.Items[i])
		if o.ControlPlaneNamespace != "" && v.ControlPlaneNamespace != o.ControlPlaneNamespace && v.Name != o.ControlPlaneNamespace {
			continue
		}
		if found > 0 {
			sayln(o.out)
		}
		found++
		if err := o.print(ctx, c, v); err != nil {
			return err
		}
	}
	if found == 0 {
		if o.ControlPlaneNamespace != "" {
			return fmt.Errorf("no Connection for control-plane namespace %s in this cluster", o.ControlPlaneNamespace)
		}
		return errors.New("no Connection in this cluster; install the connector with `mcp-connector install`")
	}
	return nil
}

func (o *StatusOptions) print(ctx context.Context, c client.Client, v connectionView) error {
	w := tabwriter.NewWriter(o.out, 0, 4, 2, ' ', 0)
	say(w, "Connection:\t%s\n", v.Name)
	say(w, "Control plane:\t%s\n", v.ControlPlane)
	say(w, "Namespace:\t%s\n", v.ControlPlaneNamespace)
	say(w, "Cluster id:\t%s\n", v.ClusterID)
	for _, typ := range []string{connection.ConditionReady, connection.ConditionReachable, connection.ConditionMirrored} {
		cv, ok := v.Conditions[typ]
		if !ok {
			say(w, "%s:\tunknown (not reported yet)\n", typ)
			continue
		}
		line := cv.Status + " (" + cv.Reason + ")"
		if cv.Status != "True" && cv.Message != "" {
			line += ": " + cv.Message
		}
		say(w, "%s:\t%s\n", typ, line)
	}
	say(w, "APIs:\t%s\n", v.Summary)
	if err := w.Flush(); err != nil {
		return err
	}
	return o.printAPIs(ctx, c, v)
}

// printAPIs prints one line per API, with its claims counted by state.
func (o *StatusOptions) printAPIs(ctx context.Context, c client.Client, v connectionView) error {
	if len(v.APIs) == 0 {
		return nil
	}
	w := tabwriter.NewWriter(o.out, 0, 4, 2, ' ', 0)
	sayln(w, "\nAPI\tKIND\tSTATE\tCLAIMS\t"+strings.ToUpper(strings.Join(condition.ClaimStates, "\t")))
	total := map[string]int{}
	for _, a := range v.APIs {
		sayln(w, strings.Join(apiRow(ctx, c, a, total), "\t"))
		if a.Message != "" && a.State != connection.StateMirrored {
			say(w, "  %s\t\t\t\n", a.Message)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	say(o.out, "\nClaims: %s\n", condition.SummarizeClaims(total))
	return nil
}

// apiRow is the table row of one API; its claim counts are added to total.
// An API without a local CRD to count in (pending, refused) shows dashes.
func apiRow(ctx context.Context, c client.Client, a connection.APIState, total map[string]int) []string {
	row := []string{a.Name, a.Kind, a.State}
	var counts map[string]int
	if a.Kind != "" && a.Version != "" && a.State != connection.StatePending && a.State != connection.StateRefused {
		counts, _ = condition.CountClaims(ctx, c, a.GVK(), 500)
	}
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
	o := &StatusOptions{out: os.Stdout}
	cmd := &cobra.Command{
		Use:   "status [namespace-in-control-plane]",
		Short: "Show the connections of this cluster: APIs mirrored, claims in sync, stale and in conflict",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.ControlPlaneNamespace = args[0]
			}
			o.out = cmd.OutOrStdout()
			return o.Run(cmd.Context())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}
