package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/crdmirror"
	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/controlplane"
)

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = apiextensionsv1.AddToScheme(s)
	return s
}

// Run starts one manager holding both clusters and blocks until ctx ends.
func (o *RunOptions) Run(ctx context.Context) error {
	logger := zap.New(zap.UseFlagOptions(&o.Zap))
	ctrl.SetLogger(logger)
	klog.SetLogger(logger)
	log := logger.WithValues("controlPlane", o.cpConfig.Host, "namespace", o.ControlPlaneNamespace, "clusterID", o.ClusterID)

	if err := streamInitialLists(); err != nil {
		return err
	}
	mgr, err := o.newManager()
	if err != nil {
		return err
	}
	cp, contact, err := o.newControlPlaneCluster(mgr.GetScheme())
	if err != nil {
		return err
	}
	if err := mgr.Add(cp); err != nil {
		return err
	}
	if err := o.setup(mgr, cp, contact); err != nil {
		return err
	}
	log.Info("Starting mcp-connector", "version", version, "connection", o.ConnectionName)
	return mgr.Start(ctx)
}

// probeMaxBackoff caps the wait between probes of an unreachable control
// plane: one GET a second to a server that does not answer costs nothing,
// and the gate reopens (and everything pending converges) within that long
// of the control plane's return, however long the outage was; sooner when a
// cache's request gets an answer first (controlplane.Contact).
const probeMaxBackoff = time.Second

func (o *RunOptions) newManager() (manager.Manager, error) {
	managed := labels.SelectorFromSet(labels.Set{conflict.LabelManaged: "true"})
	mgr, err := ctrl.NewManager(o.appConfig, ctrl.Options{
		Scheme:                        newScheme(),
		Metrics:                       metricsserver.Options{BindAddress: o.MetricsBindAddress},
		HealthProbeBindAddress:        o.HealthProbeBindAddress,
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              "mcp-connector-" + o.ConnectionName,
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		// Lease renewals must not queue behind a burst of claim writes in the
		// shared rate limiter: a late renewal hands leadership away.
		LeaderElectionConfig: o.leaderElectionConfig(),
		Client:               client.Options{Cache: &client.CacheOptions{Unstructured: true}},
		Cache: cache.Options{
			// Only what we wrote: Secrets, mirrored CRDs and their roles.
			ByObject: map[client.Object]cache.ByObject{
				&corev1.Secret{}: {Label: managed},
				&apiextensionsv1.CustomResourceDefinition{}: {Label: managed},
				&rbacv1.ClusterRole{}:                       {Label: managed},
			},
			// managedFields only as far as the ownership decisions read them.
			DefaultTransform: sync.TransformLocal,
			SyncPeriod:       &o.ResyncPeriod,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("create manager for the app cluster: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	return mgr, nil
}

// newControlPlaneCluster caches only the control-plane namespace, and there
// only objects carrying this cluster's id, plus the connection Secrets there.
// XRDs and claim CRDs (metadata only) are read cluster-wide.
func (o *RunOptions) newControlPlaneCluster(scheme *runtime.Scheme) (cluster.Cluster, *controlplane.Contact, error) {
	xrd := &unstructured.Unstructured{}
	xrd.SetGroupVersionKind(crdmirror.XRDGVK)
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	everything := labels.Everything()
	// Any answer from the control plane during an outage reopens the gate at once.
	contact := controlplane.NewContact()
	cfg := rest.CopyConfig(o.cpConfig)
	contact.Wrap(cfg)
	c, err := cluster.New(cfg, func(co *cluster.Options) {
		co.Scheme = scheme
		co.MapperProvider = controlPlaneMapper
		co.Client = client.Options{Cache: &client.CacheOptions{Unstructured: true}}
		co.Cache = cache.Options{
			DefaultNamespaces:    map[string]cache.Config{o.ControlPlaneNamespace: {}},
			DefaultLabelSelector: labels.SelectorFromSet(labels.Set{conflict.LabelClusterID: o.ClusterID}),
			DefaultTransform:     sync.TransformControlPlane,
			SyncPeriod:           &o.ResyncPeriod,
			ByObject: map[client.Object]cache.ByObject{
				// Only the connection Secrets Crossplane writes.
				&corev1.Secret{}: {Label: everything, Field: sync.ConnectionSecretSelector},
				xrd:              {Label: everything},
				crd:              {Label: everything},
			},
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("create client for the control plane: %w", err)
	}
	return c, contact, nil
}

// setup wires the gate's monitor, the Connection reporter and the mirror.
func (o *RunOptions) setup(mgr manager.Manager, cp cluster.Cluster, contact *controlplane.Contact) error {
	gate := controlplane.NewGate(time.Now())
	sync.RegisterMetrics()
	controlplane.RegisterMetrics()
	if err := mgr.Add(&controlplane.Monitor{
		Reader: cp.GetAPIReader(), Writer: cp.GetClient(), Namespace: o.ControlPlaneNamespace,
		ClusterID: o.ClusterID, Takeover: o.TakeoverNamespace, Gate: gate,
		// The record lives in the connector's own namespace; read directly,
		// so that no ConfigMap informer is started.
		State: &controlplane.StateStore{Reader: mgr.GetAPIReader(), Writer: mgr.GetClient(),
			Namespace: o.stateNamespace, Name: controlplane.StateName(o.ConnectionName)},
		Lease: &controlplane.ClusterLease{Config: o.cpConfig, Namespace: o.ControlPlaneNamespace,
			Name: controlplane.LeaseName(o.ClusterID), Identity: controlplane.NewLeaseIdentity()},
		Interval: o.ProbeInterval, MaxBackoff: probeMaxBackoff, Contact: contact, Now: time.Now,
	}); err != nil {
		return err
	}
	if err := o.addTokenRenewer(mgr); err != nil {
		return err
	}
	states := connection.NewStates()
	reporter := &connection.Reporter{Client: mgr.GetClient(), Cache: mgr.GetCache(), Name: o.ConnectionName, ControlPlane: o.cpConfig.Host,
		Namespace: o.ControlPlaneNamespace, ClusterID: o.ClusterID, Gate: gate, States: states}
	if err := mgr.Add(reporter); err != nil {
		return err
	}
	return crdmirror.SetupWithManager(mgr, crdmirror.Options{
		Connection:       o.ConnectionName,
		ControlPlaneHost: o.cpConfig.Host,
		States:           states,
		XRDSelector:      o.xrdSelector,
		Clusters: sync.Clusters{Local: mgr, Remote: cp, Gate: gate,
			Recorder: mgr.GetEventRecorderFor("mcp-connector")},
		Sync: sync.Config{
			ClusterID: o.ClusterID, Namespace: o.ControlPlaneNamespace,
			Fields:        conflict.DefaultFieldPolicy(),
			Metadata:      conflict.DefaultMetadataPolicy().With(o.LocalOnlyLabels, o.LocalOnlyAnnotations),
			Adopt:         o.Adopt,
			RecreateGrace: o.RecreateGrace,
			StalePeriod:   o.StalePeriod,
			Workers:       o.Workers,
			// The pod's namespace, where the chart lets it keep its records.
			PendingNamespace: o.stateNamespace,
			OnClaimChange:    reporter.ClaimsChanged,
		},
	})
}

// controlPlaneMapper answers for the kinds the control-plane cache is set up
// with without asking the control plane, so that the connector starts while
// the control plane is unreachable; everything else goes to discovery, lazily.
func controlPlaneMapper(cfg *rest.Config, hc *http.Client) (meta.RESTMapper, error) {
	dynamic, err := apiutil.NewDynamicRESTMapper(cfg, hc)
	if err != nil {
		return nil, err
	}
	static := meta.NewDefaultRESTMapper(nil)
	static.Add(corev1.SchemeGroupVersion.WithKind("Secret"), meta.RESTScopeNamespace)
	static.Add(corev1.SchemeGroupVersion.WithKind("ConfigMap"), meta.RESTScopeNamespace)
	static.Add(corev1.SchemeGroupVersion.WithKind("Namespace"), meta.RESTScopeRoot)
	static.Add(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"), meta.RESTScopeRoot)
	static.Add(crdmirror.XRDGVK, meta.RESTScopeRoot)
	return meta.FirstHitRESTMapper{MultiRESTMapper: meta.MultiRESTMapper{static, dynamic}}, nil
}
