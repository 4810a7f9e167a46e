package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/flowcontrol"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/mcp-connector/mcp-connector/sync/controlplane"
)

// RunOptions are the flags of `mcp-connector run`.
type RunOptions struct {
	Kubeconfig              string
	ControlPlaneKubeconfig  string
	ControlPlaneServer      string
	ControlPlaneTokenFile   string
	ControlPlaneCAFile      string
	ControlPlaneNamespace   string
	ClusterID               string
	ConnectionName          string
	MetricsBindAddress      string
	HealthProbeBindAddress  string
	LeaderElect             bool
	LeaderElectionNamespace string
	Workers                 int
	QPS                     float32
	Burst                   int
	ProbeInterval           time.Duration
	ResyncPeriod            time.Duration
	RecreateGrace           time.Duration
	StalePeriod             time.Duration
	Adopt                   bool
	TakeoverNamespace       bool
	LocalOnlyLabels         []string
	LocalOnlyAnnotations    []string
	XRDSelector             string
	// Renewal of a minted control-plane token (tokenrenew.go).
	ControlPlaneKubeconfigSecret    string
	ControlPlaneKubeconfigSecretKey string
	TokenRenewAt                    float64
	Zap                             zap.Options

	// Filled by Complete.
	appConfig *rest.Config
	cpConfig  *rest.Config
	// cpToken is the renewable control-plane token, nil when not renewed.
	cpToken *currentToken
	// stateNamespace is the connector's own namespace, which holds its local
	// record (controlplane.StateName).
	stateNamespace string
	// xrdSelector is XRDSelector parsed (nil: every XRD).
	xrdSelector labels.Selector
}

// NewRunOptions returns the defaults.
func NewRunOptions() *RunOptions {
	return &RunOptions{
		MetricsBindAddress:     ":8080",
		HealthProbeBindAddress: ":8081",
		LeaderElect:            true,
		// The request budget: docs/benchmarks.md ("Throughput at the
		// defaults") measures it, docs/operations.md says what it costs a
		// shared control plane. The chart's values.yaml repeats it.
		Workers:       16,
		QPS:           500,
		Burst:         1000,
		ProbeInterval: 10 * time.Second,
		ResyncPeriod:  10 * time.Hour,
		RecreateGrace: 5 * time.Second,
		StalePeriod:   5 * time.Minute,

		ControlPlaneKubeconfigSecretKey: "kubeconfig",
		TokenRenewAt:                    controlplane.DefaultTokenRenewAt,
	}
}

// AddFlags binds the options to a flag set.
func (o *RunOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Kubeconfig of the app cluster (default: $KUBECONFIG, else the in-cluster config).")
	fs.StringVar(&o.ControlPlaneKubeconfig, "control-plane-kubeconfig", o.ControlPlaneKubeconfig, "Kubeconfig of the control plane. Either this or --control-plane-server with --control-plane-token-file.")
	fs.StringVar(&o.ControlPlaneServer, "control-plane-server", o.ControlPlaneServer, "URL of the control plane's API server (token mode).")
	fs.StringVar(&o.ControlPlaneTokenFile, "control-plane-token-file", o.ControlPlaneTokenFile, "File holding a bearer token for the control plane (token mode).")
	fs.StringVar(&o.ControlPlaneCAFile, "control-plane-ca-file", o.ControlPlaneCAFile, "CA bundle for the control plane's API server (token mode; default: system roots).")
	fs.StringVar(&o.ControlPlaneNamespace, "control-plane-namespace", o.ControlPlaneNamespace, "The one control-plane namespace that belongs to this app cluster (required).")
	fs.StringVar(&o.ClusterID, "cluster-id", o.ClusterID, "Identity of this app cluster in the control plane (default: the uid of its kube-system namespace).")
	fs.StringVar(&o.ConnectionName, "connection-name", o.ConnectionName, "Name of this connector's Connection resource (default: the control-plane namespace).")
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", o.MetricsBindAddress, "Address of the metrics endpoint; 0 disables it.")
	fs.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", o.HealthProbeBindAddress, "Address of the /healthz and /readyz endpoints; 0 disables them.")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Elect a leader among replicas; only the leader syncs.")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", o.LeaderElectionNamespace, "Namespace of the leader-election Lease (default: $POD_NAMESPACE, the pod's namespace, else default).")
	fs.IntVar(&o.Workers, "workers", o.Workers, "Concurrent reconciles per claim kind.")
	fs.Float32Var(&o.QPS, "kube-api-qps", o.QPS, "Client-side request rate limit, per cluster.")
	fs.IntVar(&o.Burst, "kube-api-burst", o.Burst, "Client-side request burst, per cluster.")
	fs.DurationVar(&o.ProbeInterval, "probe-interval", o.ProbeInterval, "How often the control plane is probed while it answers.")
	fs.DurationVar(&o.ResyncPeriod, "resync-period", o.ResyncPeriod, "How often every claim is reconciled again even without a change; a pass that finds nothing to do writes nothing.")
	fs.DurationVar(&o.RecreateGrace, "recreate-grace", o.RecreateGrace, "How long a remote claim deleted by someone else stays gone before it is re-created.")
	fs.DurationVar(&o.StalePeriod, "stale-period", o.StalePeriod, "After this long without the control plane, copied Ready/Synced conditions turn Unknown; 0 keeps them.")
	fs.BoolVar(&o.Adopt, "adopt", o.Adopt, "Take over remote claims of a mapped name that carry no or another cluster's marks (migrations).")
	fs.BoolVar(&o.TakeoverNamespace, "takeover-namespace", o.TakeoverNamespace, "Take the control-plane namespace from the app cluster that holds it.")
	fs.StringSliceVar(&o.LocalOnlyLabels, "local-only-label", o.LocalOnlyLabels, "Label key (or prefix/*) that stays in the app cluster; repeatable.")
	fs.StringSliceVar(&o.LocalOnlyAnnotations, "local-only-annotation", o.LocalOnlyAnnotations, "Annotation key (or prefix/*) that stays in the app cluster; repeatable.")
	fs.StringVar(&o.XRDSelector, "xrd-selector", o.XRDSelector, "Label selector on the control plane's XRDs: only the APIs of matching XRDs are mirrored (default: every XRD that offers a claim or a namespaced XR). An XRD that stops matching is withdrawn as if deleted.")
	fs.StringVar(&o.ControlPlaneKubeconfigSecret, "control-plane-kubeconfig-secret", o.ControlPlaneKubeconfigSecret, "Secret of the connector's namespace that --control-plane-kubeconfig comes from; when its token is one install minted, the connector renews it and writes the new one there.")
	fs.StringVar(&o.ControlPlaneKubeconfigSecretKey, "control-plane-kubeconfig-secret-key", o.ControlPlaneKubeconfigSecretKey, "Key of the kubeconfig in --control-plane-kubeconfig-secret.")
	fs.Float64Var(&o.TokenRenewAt, "token-renew-at", o.TokenRenewAt, "Fraction of a minted token's lifetime after which the connector renews it (0 < f <= 1).")
	gfs := flag.NewFlagSet("zap", flag.ContinueOnError)
	o.Zap.BindFlags(gfs)
	fs.AddGoFlagSet(gfs)
}

// Validate checks what can be checked without a cluster.
func (o *RunOptions) Validate() error {
	var errs []error
	if o.ControlPlaneNamespace == "" {
		errs = append(errs, errors.New("--control-plane-namespace is required: the control-plane namespace that belongs to this app cluster"))
	} else if msgs := validation.IsDNS1123Label(o.ControlPlaneNamespace); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("--control-plane-namespace %q is not a valid namespace name: %s", o.ControlPlaneNamespace, strings.Join(msgs, "; ")))
	}
	switch {
	case o.ControlPlaneKubeconfig == "" && o.ControlPlaneServer == "":
		errs = append(errs, errors.New("the control plane is not set: pass --control-plane-kubeconfig, or --control-plane-server with --control-plane-token-file"))
	case o.ControlPlaneKubeconfig != "" && o.ControlPlaneServer != "":
		errs = append(errs, errors.New("pass either --control-plane-kubeconfig or --control-plane-server, not both"))
	case o.ControlPlaneServer != "" && o.ControlPlaneTokenFile == "":
		errs = append(errs, errors.New("--control-plane-server needs --control-plane-token-file"))
	}
	if o.ClusterID != "" {
		if msgs := validation.IsValidLabelValue(o.ClusterID); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--cluster-id %q must be a valid label value (it marks remote claims): %s", o.ClusterID, strings.Join(msgs, "; ")))
		}
	}
	if o.Workers < 1 {
		errs = append(errs, errors.New("--workers must be at least 1"))
	}
	if o.QPS <= 0 || o.Burst < 1 {
		errs = append(errs, errors.New("--kube-api-qps must be positive and --kube-api-burst at least 1"))
	}
	if o.ProbeInterval <= 0 || o.ResyncPeriod <= 0 {
		errs = append(errs, errors.New("--probe-interval and --resync-period must be positive"))
	}
	if _, err := o.parseXRDSelector(); err != nil {
		errs = append(errs, err)
	}
	if o.TokenRenewAt <= 0 || o.TokenRenewAt > 1 {
		errs = append(errs, fmt.Errorf("--token-renew-at %v must be a fraction of the token's lifetime, above 0 and at most 1", o.TokenRenewAt))
	}
	return errors.Join(errs...)
}

// Complete loads both client configurations and derives the defaults that
// need the app cluster (the cluster id). The control plane is not contacted:
// an unreachable control plane is not an error at start.
func (o *RunOptions) Complete(ctx context.Context) error {
	var err error
	if o.appConfig, err = loadAppConfig(o.Kubeconfig); err != nil {
		return err
	}
	if o.cpConfig, err = o.loadControlPlaneConfig(); err != nil {
		return err
	}
	o.cpToken = o.setupTokenRenewal(o.cpConfig)
	for _, c := range []*rest.Config{o.appConfig, o.cpConfig} {
		c.QPS, c.Burst = o.QPS, o.Burst
		c.UserAgent = "mcp-connector/" + version
		// One limiter per cluster, shared by every client made from this
		// config (each kind's, the API reader, events): --kube-api-qps is
		// what the cluster sees, not a budget per client.
		c.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(o.QPS, o.Burst)
	}
	o.cpConfig.WarningHandler = rest.NewWarningWriter(os.Stderr, rest.WarningWriterOptions{Deduplicate: true})
	if o.ConnectionName == "" {
		o.ConnectionName = o.ControlPlaneNamespace
	}
	if o.xrdSelector, err = o.parseXRDSelector(); err != nil {
		return err
	}
	o.stateNamespace = ownNamespace()
	if o.LeaderElectionNamespace == "" {
		o.LeaderElectionNamespace = o.stateNamespace
	}
	if o.ClusterID == "" {
		if o.ClusterID, err = clusterIDOf(ctx, o.appConfig); err != nil {
			return err
		}
	}
	return nil
}

// parseXRDSelector parses --xrd-selector; empty selects every XRD (nil).
func (o *RunOptions) parseXRDSelector() (labels.Selector, error) {
	if strings.TrimSpace(o.XRDSelector) == "" {
		return nil, nil
	}
	sel, err := labels.Parse(o.XRDSelector)
	if err != nil {
		return nil, fmt.Errorf("--xrd-selector %q is not a label selector: %w", o.XRDSelector, err)
	}
	return sel, nil
}

func loadAppConfig(path string) (*rest.Config, error) {
	if path != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, fmt.Errorf("read app-cluster kubeconfig --kubeconfig=%s: %w", path, err)
		}
		return cfg, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err == nil {
		return cfg, nil
	}
	if cfg, inErr := rest.InClusterConfig(); inErr == nil {
		return cfg, nil
	}
	return nil, fmt.Errorf("no app-cluster configuration: pass --kubeconfig, set $KUBECONFIG, or run in a pod (%w)", err)
}

func (o *RunOptions) loadControlPlaneConfig() (*rest.Config, error) {
	if o.ControlPlaneKubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", o.ControlPlaneKubeconfig)
		if err != nil {
			return nil, fmt.Errorf("read control-plane kubeconfig --control-plane-kubeconfig=%s: %w", o.ControlPlaneKubeconfig, err)
		}
		return cfg, nil
	}
	if _, err := os.Stat(o.ControlPlaneTokenFile); err != nil {
		return nil, fmt.Errorf("read control-plane token --control-plane-token-file: %w", err)
	}
	return &rest.Config{Host: o.ControlPlaneServer, BearerTokenFile: o.ControlPlaneTokenFile,
		TLSClientConfig: rest.TLSClientConfig{CAFile: o.ControlPlaneCAFile}}, nil
}

// ownNamespace is the connector's own namespace: $POD_NAMESPACE, else the
// service account's, else default.
func ownNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		return strings.TrimSpace(string(b))
	}
	return "default"
}

// clusterIDOf derives a stable id from the app cluster: the uid of its
// kube-system namespace, which lives as long as the cluster.
func clusterIDOf(ctx context.Context, cfg *rest.Config) (string, error) {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return "", fmt.Errorf("connect to the app cluster: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ns := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: "kube-system"}, ns); err != nil {
		return "", fmt.Errorf("derive --cluster-id from the app cluster's kube-system namespace (pass --cluster-id to skip): %w", err)
	}
	return string(ns.UID), nil
}

func newRunCommand() *cobra.Command {
	o := NewRunOptions()
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the connector between this app cluster and a control plane",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			if err := o.Complete(cmd.Context()); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// leaderElectionConfig is the app cluster's config with a rate limiter of
// its own, for the leader-election Lease alone.
func (o *RunOptions) leaderElectionConfig() *rest.Config {
	c := rest.CopyConfig(o.appConfig)
	c.RateLimiter = nil
	c.QPS, c.Burst = 5, 10
	return c
}
