package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/mcp-connector/mcp-connector/charts"
)

// DefaultReleaseNamespace is where `install` puts the release unless told.
const DefaultReleaseNamespace = "mcp-connector-system"

// chartName is the name of the embedded chart (Chart.yaml).
const chartName = "mcp-connector"

// ClusterOptions select the app cluster and the release namespace, as helm
// and kubectl do.
type ClusterOptions struct {
	Kubeconfig string
	Context    string
	// Namespace is the release namespace in the app cluster.
	Namespace string
}

// AddFlags binds the options to a flag set.
func (o *ClusterOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Kubeconfig of the app cluster (default: $KUBECONFIG, else ~/.kube/config).")
	fs.StringVar(&o.Context, "context", o.Context, "Context of the kubeconfig to use (default: its current context).")
	fs.StringVarP(&o.Namespace, "namespace", "n", o.Namespace, "Namespace of the Helm release in the app cluster.")
}

// RESTConfig loads the app cluster's client configuration.
func (o *ClusterOptions) RESTConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load the app cluster's kubeconfig (--kubeconfig, $KUBECONFIG): %w", err)
	}
	return cliConfig(cfg), nil
}

// cliConfig sets what every client of the CLI shares: its user agent, no
// printed API warnings, a rate that handles thousands of claims in seconds,
// and a per-request timeout so that an unreachable cluster fails a step.
func cliConfig(cfg *rest.Config) *rest.Config {
	cfg.UserAgent = "mcp-connector-cli/" + version
	cfg.WarningHandler = rest.NoWarnings{}
	cfg.QPS, cfg.Burst = 50, 100
	cfg.Timeout = 30 * time.Second
	return cfg
}

// helmConfig returns a Helm action configuration for the release namespace,
// storing releases in Secrets as the helm CLI does by default.
func (o *ClusterOptions) helmConfig() (*action.Configuration, error) {
	flags := genericclioptions.NewConfigFlags(true)
	flags.KubeConfig, flags.Context, flags.Namespace = &o.Kubeconfig, &o.Context, &o.Namespace
	cfg := &action.Configuration{}
	if err := cfg.Init(flags, o.Namespace, "secret", func(string, ...any) {}); err != nil {
		return nil, fmt.Errorf("set up Helm for namespace %s: %w", o.Namespace, err)
	}
	return cfg, nil
}

// loadChart loads the chart embedded in the binary.
func loadChart() (*chart.Chart, error) {
	var files []*loader.BufferedFile
	err := fs.WalkDir(charts.FS, charts.ChartDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := charts.FS.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, &loader.BufferedFile{Name: strings.TrimPrefix(p, charts.ChartDir+"/"), Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the embedded chart: %w", err)
	}
	c, err := loader.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("load the embedded chart: %w", err)
	}
	return c, nil
}

// ReleaseName is the Helm release of the connector for a control-plane
// namespace: one release per namespace, found again by `uninstall`. Helm
// allows 53 characters.
func ReleaseName(controlPlaneNamespace string) string {
	name := "mcp-connector-" + controlPlaneNamespace
	if len(name) > 53 {
		name = strings.TrimRight(name[:53], "-")
	}
	return name
}

// getRelease returns the deployed release of that name, or nil if there is
// none.
func getRelease(cfg *action.Configuration, name string) (*release.Release, error) {
	rel, err := action.NewGet(cfg).Run(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read Helm release %s: %w", name, err)
	}
	return rel, nil
}

// findRelease finds the connector's release for a control-plane namespace in
// the release namespace: under its usual name, else any release of the chart
// whose mcp.namespace is that namespace (installed with helm directly).
func findRelease(cfg *action.Configuration, controlPlaneNamespace string) (*release.Release, error) {
	rel, err := getRelease(cfg, ReleaseName(controlPlaneNamespace))
	if err != nil || rel != nil {
		return rel, err
	}
	list := action.NewList(cfg)
	list.StateMask = action.ListAll
	rels, err := list.Run()
	if err != nil {
		return nil, fmt.Errorf("list Helm releases: %w", err)
	}
	for _, r := range rels {
		if r.Chart != nil && r.Chart.Metadata != nil && r.Chart.Metadata.Name == chartName &&
			stringAt(r.Config, "mcp", "namespace") == controlPlaneNamespace {
			return r, nil
		}
	}
	return nil, nil
}

// stringAt reads a string from nested values; "" when absent.
func stringAt(values map[string]any, keys ...string) string {
	var cur any = values
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[k]
	}
	s, _ := cur.(string)
	return s
}

// setAt sets a value in nested values, creating maps on the way.
func setAt(values map[string]any, value any, keys ...string) {
	m := values
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = value
}

// manifestObjects returns the objects of a kind in a release's manifest.
func manifestObjects(manifest, kind string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, doc := range releaseutil.SplitManifests(manifest) {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			return nil, fmt.Errorf("decode the release manifest: %w", err)
		}
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out, nil
}

// say prints a line of the CLI's output. A terminal or pipe that fails is
// not worth failing a step for, so the error is dropped on purpose.
func say(w io.Writer, format string, args ...any) { _, _ = fmt.Fprintf(w, format, args...) }

// sayln is say for fmt.Fprintln.
func sayln(w io.Writer, args ...any) { _, _ = fmt.Fprintln(w, args...) }
