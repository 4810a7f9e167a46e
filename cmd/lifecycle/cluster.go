package lifecycle

import (
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/action"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Cluster selects the app cluster and the release namespace, as helm and
// kubectl do.
type Cluster struct {
	Kubeconfig string
	Context    string
	// Namespace is the release namespace in the app cluster.
	Namespace string
	// Version is the CLI's version, sent in its user agent.
	Version string
}

// RESTConfig loads the app cluster's client configuration.
func (c Cluster) RESTConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = c.Kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: c.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load the app cluster's kubeconfig (--kubeconfig, $KUBECONFIG): %w", err)
	}
	return cliConfig(cfg, c.Version), nil
}

// client connects to the app cluster.
func (c Cluster) client() (*rest.Config, client.Client, error) {
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, nil, err
	}
	app, err := newClient(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to the app cluster: %w", err)
	}
	return cfg, app, nil
}

// helmConfig returns a Helm action configuration for the release namespace,
// storing releases in Secrets as the helm CLI does by default.
func (c Cluster) helmConfig() (*action.Configuration, error) {
	flags := genericclioptions.NewConfigFlags(true)
	flags.KubeConfig, flags.Context, flags.Namespace = &c.Kubeconfig, &c.Context, &c.Namespace
	cfg := &action.Configuration{}
	if err := cfg.Init(flags, c.Namespace, "secret", func(string, ...any) {}); err != nil {
		return nil, fmt.Errorf("set up Helm for namespace %s: %w", c.Namespace, err)
	}
	return cfg, nil
}

// cliConfig sets what every client of the CLI shares: its user agent, no
// printed API warnings, a rate that handles thousands of claims in seconds,
// and a per-request timeout so that an unreachable cluster fails a step.
func cliConfig(cfg *rest.Config, version string) *rest.Config {
	cfg.UserAgent = "mcp-connector-cli/" + version
	cfg.WarningHandler = rest.NoWarnings{}
	cfg.QPS, cfg.Burst = 50, 100
	cfg.Timeout = 30 * time.Second
	return cfg
}

// newClient is a client of the kinds the CLI reads and writes (built-in
// kinds and CRDs; everything else unstructured).
func newClient(cfg *rest.Config) (client.Client, error) {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = apiextensionsv1.AddToScheme(s)
	return client.New(cfg, client.Options{Scheme: s})
}
