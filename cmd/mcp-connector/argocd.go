//go:build !runonly

package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/cmd/argocd"
	"github.com/mcp-connector/mcp-connector/cmd/lifecycle"
)

// ArgoCDOptions are the flags of `mcp-connector argocd`.
type ArgoCDOptions struct {
	Cluster lifecycle.Cluster
	// Namespace is Argo CD's namespace, where argocd-cm lives.
	Namespace string
	// Apply writes the entries into argocd-cm instead of printing them.
	Apply bool
	out   io.Writer
}

// AddFlags binds the options to a flag set.
func (o *ArgoCDOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Cluster.Kubeconfig, "kubeconfig", o.Cluster.Kubeconfig, "Kubeconfig of the app cluster (default: $KUBECONFIG, else ~/.kube/config).")
	fs.StringVar(&o.Cluster.Context, "context", o.Cluster.Context, "Context of the kubeconfig to use.")
	fs.StringVarP(&o.Namespace, "namespace", "n", "argocd", "Namespace of Argo CD's argocd-cm ConfigMap.")
	fs.BoolVar(&o.Apply, "apply", false, "Write the entries into argocd-cm (created if absent; other keys are kept) instead of printing them.")
}

// Complete sets where to print.
func (o *ArgoCDOptions) Complete(out io.Writer) { o.Cluster.Version, o.out = version, out }

// Validate refuses a namespace that cannot exist.
func (o *ArgoCDOptions) Validate() error {
	if o.Namespace == "" {
		return errors.New("--namespace must not be empty: it names Argo CD's namespace (default argocd)")
	}
	if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
		return fmt.Errorf("--namespace %q is not a namespace name: %s", o.Namespace, errs[0])
	}
	return nil
}

func (o *ArgoCDOptions) run(cmd *cobra.Command) error {
	cfg, err := o.Cluster.RESTConfig()
	if err != nil {
		return err
	}
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = apiextensionsv1.AddToScheme(s)
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		return fmt.Errorf("connect to the app cluster: %w", err)
	}
	apis, entries, err := argocd.Build(cmd.Context(), c)
	if err != nil {
		return err
	}
	if !o.Apply {
		out, err := argocd.Manifest(o.Namespace, entries)
		if err != nil {
			return err
		}
		say(o.out, "# The argocd-cm entries of the APIs mirrored in this cluster: %s.\n", argocd.Names(apis))
		say(o.out, "# Merge them into argocd-cm, or run `mcp-connector argocd --apply`.\n")
		_, err = o.out.Write(out)
		return err
	}
	if err := argocd.Apply(cmd.Context(), c, o.Namespace, entries); err != nil {
		return err
	}
	say(o.out, "ConfigMap %s/%s: %d entries for %d APIs (%s); its other keys are unchanged.\n",
		o.Namespace, argocd.ConfigMapName, len(entries), len(apis), argocd.Names(apis))
	return nil
}

func newArgoCDCommand() *cobra.Command {
	o := &ArgoCDOptions{}
	cmd := &cobra.Command{
		Use:   "argocd",
		Short: "Print (or --apply) the argocd-cm entries that give Argo CD true health for every mirrored claim API",
		Long: "Argo CD's built-in health checks match only *.crossplane.io and *.upbound.io: without an entry of its own,\n" +
			"a mirrored claim shows Healthy at once, Ready or not. This prints, for every claim API mirrored in this\n" +
			"cluster, a resource.customizations.health.<group>_<kind> entry (a Lua health check: Degraded when Synced is\n" +
			"False or the connector refused the claim, Healthy when Ready, else Progressing) and a\n" +
			"resource.customizations.ignoreDifferences.<group>_<kind> entry (fields Crossplane sets are not drift).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Complete(cmd.OutOrStdout())
			if err := o.Validate(); err != nil {
				return err
			}
			return o.run(cmd)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}
