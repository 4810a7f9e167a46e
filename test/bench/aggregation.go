package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// The aggregation part (issue 15, item 5) sets the seed's architecture, an
// APIService in the app cluster whose every read and watch crosses to the
// control plane, side by side with the connector's mirror and with a plain
// CRD in the app cluster (the reference), in one app cluster, so that all
// three are served by the same kube-apiserver on the same cores: get, list
// and watch figures at 0 and 20 ms added round trip to the control plane,
// then what each path does while the control plane is away.
func init() {
	register(registeredPart{name: "aggregation", order: 50, run: func(ctx context.Context, b *bench) error { return b.aggregation(ctx) }, section: aggregationSection})
}

// The three paths, in the order of the report.
const (
	pathNative     = "native CRD"
	pathMirror     = "mirror"
	pathAggregated = "aggregated"
)

var aggPaths = []string{pathNative, pathMirror, pathAggregated}

// nativeGroup serves the reference CRD in the app cluster.
const nativeGroup = "native.bench.example.org"

// The read figures, as kubectl and Argo CD make them.
const (
	figAggGet     = "GET one object"
	figAggListNS  = "LIST one namespace (pages of 500)"
	figAggListAll = "LIST all namespaces (pages of 500)"
	figAggWatch   = "remote status change → local watcher"
)

var aggFigures = []string{figAggGet, figAggListNS, figAggListAll, figAggWatch}

// aggregationSizes: 1,000 objects of one kind on each path, over 10
// namespaces.
const (
	aggObjects    = 1000
	aggNamespaces = 10
	aggService    = "bench-aggregated"
)

// aggregationResult is what the part stores in results.json.
type aggregationResult struct {
	Objects    int              `json:"objects"`
	Namespaces int              `json:"namespaces"`
	Samples    int              `json:"samples"`
	LoadBefore string           `json:"loadBefore"`
	LoadAfter  string           `json:"loadAfter"`
	Runs       []aggregationRun `json:"runs"`
	Outage     *outageResult    `json:"outage,omitempty"`
	// BytesPerObject is the JSON size of one object of each path as a LIST
	// returns it.
	BytesPerObject map[string]int `json:"bytesPerObject"`
	// Rejected counts requests the proxy refused for want of the
	// requestheader identity: the one of the bench's own check (a direct
	// request with the front-proxy certificate and no X-Remote-User), none
	// through the aggregator.
	Rejected int64 `json:"rejected"`
}

// aggregationRun holds the samples at one added round trip, by figure and
// path, in milliseconds.
type aggregationRun struct {
	AddedRTTMs int                             `json:"addedRTTMs"`
	Ms         map[string]map[string][]float64 `json:"ms"`
}

// aggRig is the world of the part: the app cluster with aggregation on and
// kube-controller-manager, the control plane behind a fault proxy for both
// the connector and the aggregation proxy.
type aggRig struct {
	w       *world
	fault   *harness.FaultProxy
	agg     *aggProxy
	conn    *connector
	gvr     map[string]schema.GroupVersionResource
	claims  []claimRef // the objects of each path (names and namespaces)
	watched map[string]*tracker
}

func (b *bench) aggregation(ctx context.Context) error {
	res := &aggregationResult{Objects: aggObjects, Namespaces: aggNamespaces, Samples: b.o.LatencySamples, LoadBefore: loadavg()}
	r, err := b.startAggRig(ctx)
	if r != nil {
		defer r.stop()
	}
	if err != nil {
		return err
	}
	if err := r.populate(ctx, b); err != nil {
		return err
	}
	if res.BytesPerObject, err = r.bytesPerObject(ctx); err != nil {
		return err
	}
	for _, rtt := range []time.Duration{0, 20 * time.Millisecond} {
		run, err := r.measure(ctx, b, rtt, b.o.LatencySamples)
		if err != nil {
			return fmt.Errorf("%s added round trip: %w", rtt, err)
		}
		res.Runs = append(res.Runs, *run)
		if err := b.save("aggregation", res); err != nil {
			return err
		}
		if err := b.write(); err != nil {
			return err
		}
	}
	r.fault.Restore()
	out, err := r.outage(ctx, b)
	res.Outage, res.Rejected, res.LoadAfter = out, r.agg.rejected.Load(), loadavg()
	if saveErr := b.save("aggregation", res); saveErr != nil {
		return saveErr
	}
	return err
}

func (b *bench) startAggRig(ctx context.Context) (*aggRig, error) {
	dir := filepath.Join(b.o.Out, "aggregation-tls")
	creds, err := newAggregationTLS(dir, aggService+".default.svc")
	if err != nil {
		return nil, err
	}
	r := &aggRig{gvr: map[string]schema.GroupVersionResource{
		pathNative:     {Group: nativeGroup, Version: benchVersion, Resource: kinds[0].Plural},
		pathMirror:     kinds[0].GVR(),
		pathAggregated: {Group: aggGroup, Version: benchVersion, Resource: kinds[0].Plural},
	}, watched: map[string]*tracker{}}
	if r.w, err = startWorldWith(ctx, harness.EnvOptions{ControllerManager: true, APIServerFlags: aggregationFlags(dir)}, kinds); err != nil {
		return nil, err
	}
	cpURL, err := url.Parse(r.w.cp.Config.Host)
	if err != nil {
		return r, err
	}
	if r.fault, err = harness.StartFaultProxy(cpURL.Host); err != nil {
		return r, err
	}
	if err := r.w.cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: aggNamespace}}); err != nil {
		return r, err
	}
	viaFault := rest.CopyConfig(r.w.cp.Config)
	viaFault.Host = "https://" + r.fault.Addr()
	if r.agg, err = startAggProxy(viaFault, creds.server); err != nil {
		return r, err
	}
	if err := creds.checkIdentity(ctx, r.agg.port); err != nil {
		return r, err
	}
	if err := r.registerAPIService(ctx, creds.caBundle); err != nil {
		return r, err
	}
	if err := r.installNativeCRD(ctx); err != nil {
		return r, err
	}
	return r, r.startConnector(ctx, b)
}

func (r *aggRig) stop() {
	for _, t := range r.watched {
		t.stop()
	}
	if r.conn != nil {
		r.conn.stop()
	}
	if r.agg != nil {
		r.agg.stop()
	}
	if r.fault != nil {
		_ = r.fault.Close()
	}
	_ = r.w.stop()
}

// startConnector runs the connector against the control plane through the
// fault proxy, as the aggregation proxy reaches it.
func (r *aggRig) startConnector(ctx context.Context, b *bench) error {
	cp := *r.w.cp
	cp.Kubeconfig = filepath.Join(b.o.Out, "aggregation-tls", "control-plane-via-proxy.kubeconfig")
	if err := harness.WriteProxiedKubeconfig(r.w.cp.Kubeconfig, cp.Kubeconfig, r.fault.Addr()); err != nil {
		return err
	}
	var err error
	r.conn, err = b.startConnector(ctx, &world{app: r.w.app, cp: &cp}, "aggregation", 10*time.Hour)
	return err
}

var (
	apiServiceGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	serviceGVR    = schema.GroupVersionResource{Version: "v1", Resource: "services"}
)

func aggAPIServiceName() string { return benchVersion + "." + aggGroup }

// registerAPIService points aggGroup at the proxy: an ExternalName Service
// (localhost; the aggregator resolves it without kube-proxy) and the
// APIService with the serving CA, then waits until it is Available.
func (r *aggRig) registerAPIService(ctx context.Context, caBundle []byte) error {
	svc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": aggService, "namespace": "default"},
		"spec":     map[string]any{"type": "ExternalName", "externalName": "localhost"},
	}}
	if _, err := r.w.appDyn.Resource(serviceGVR).Namespace("default").Create(ctx, svc, createOpts); err != nil {
		return fmt.Errorf("create Service %s: %w", aggService, err)
	}
	as := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": aggAPIServiceName()},
		"spec": map[string]any{
			"group": aggGroup, "version": benchVersion, "groupPriorityMinimum": int64(1000), "versionPriority": int64(15),
			"service":  map[string]any{"namespace": "default", "name": aggService, "port": int64(r.agg.port)},
			"caBundle": caBundle,
		},
	}}
	if _, err := r.w.appDyn.Resource(apiServiceGVR).Create(ctx, as, createOpts); err != nil {
		return fmt.Errorf("create APIService: %w", err)
	}
	return harness.Poll(ctx, 2*time.Minute, func() error { return r.apiServiceIs(ctx, "True") })
}

func (r *aggRig) apiServiceIs(ctx context.Context, status string) error {
	u, err := r.w.appDyn.Resource(apiServiceGVR).Get(ctx, aggAPIServiceName(), metav1.GetOptions{})
	if err != nil {
		return err
	}
	return harness.CheckCondition(u, "Available", status)
}

// installNativeCRD installs the bench's Database claim CRD, renamed into
// nativeGroup, straight into the app cluster.
func (r *aggRig) installNativeCRD(ctx context.Context) error {
	crd := newClaimCRD(kinds[0], newXRD(kinds[0]))
	crd.OwnerReferences, crd.Spec.Names.Categories = nil, nil
	crd.Spec.Group, crd.Name = nativeGroup, kinds[0].Plural+"."+nativeGroup
	if err := r.w.app.Client.Create(ctx, crd); err != nil {
		return fmt.Errorf("create native CRD: %w", err)
	}
	return harness.Poll(ctx, time.Minute, func() error { return harness.CRDEstablished(ctx, r.w.app.Client, crd.Name) })
}

// populate creates the objects of every path and waits until the
// connector has synced the mirror's.
func (r *aggRig) populate(ctx context.Context, b *bench) error {
	nss := namespaces("agg", aggNamespaces)
	if err := r.w.createLocalNamespaces(ctx, nss); err != nil {
		return err
	}
	r.claims = make([]claimRef, aggObjects)
	for i := range r.claims {
		r.claims[i] = claimRef{kind: kinds[0], namespace: nss[i%len(nss)], name: fmt.Sprintf("agg-%05d", i)}
	}
	for _, path := range aggPaths {
		start := time.Now()
		if err := r.create(ctx, path, b.o.Workers); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		b.logf("aggregation: %d objects created on the %s path in %s", aggObjects, path, time.Since(start).Round(time.Millisecond))
	}
	if err := harness.Poll(ctx, 5*time.Minute, r.mirrorSynced(ctx)); err != nil {
		return fmt.Errorf("mirror claims not in sync: %w", err)
	}
	if err := r.copyMirrorStatus(ctx, b.o.Workers); err != nil {
		return err
	}
	for _, path := range aggPaths {
		t := newTracker()
		r.watched[path] = t
		if err := t.watch(ctx, r.w.appDyn, r.claims[0].namespace, r.gvr[path]); err != nil {
			return fmt.Errorf("watch the %s path: %w", path, err)
		}
	}
	return nil
}

func (r *aggRig) create(ctx context.Context, path string, workers int) error {
	gvr := r.gvr[path]
	return parallel(ctx, len(r.claims), workers, func(ctx context.Context, i int) error {
		c := r.claims[i]
		u := newClaim(c, 1)
		u.SetAPIVersion(gvr.GroupVersion().String())
		_, err := r.w.appDyn.Resource(gvr).Namespace(c.namespace).Create(ctx, u, createOpts)
		return err
	})
}

func (r *aggRig) mirrorSynced(ctx context.Context) func() error {
	return func() error {
		l, err := r.w.appDyn.Resource(r.gvr[pathMirror]).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		synced := 0
		for i := range l.Items {
			if inSync(&l.Items[i]) {
				synced++
			}
		}
		if synced < aggObjects {
			return fmt.Errorf("%d of %d mirror claims in sync", synced, aggObjects)
		}
		return nil
	}
}

// copyMirrorStatus gives the native and the aggregated objects the status
// the mirror claims carry (Crossplane's and the connector's conditions), so
// that the three paths serve objects of about the same size.
func (r *aggRig) copyMirrorStatus(ctx context.Context, workers int) error {
	l, err := r.w.appDyn.Resource(r.gvr[pathMirror]).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	byKey := map[string]any{}
	for _, u := range l.Items {
		byKey[u.GetNamespace()+"/"+u.GetName()] = u.Object["status"]
	}
	return parallel(ctx, len(r.claims), workers, func(ctx context.Context, i int) error {
		c := r.claims[i]
		body, err := json.Marshal(map[string]any{"status": byKey[c.namespace+"/"+c.name]})
		if err != nil {
			return err
		}
		native := r.w.appDyn.Resource(r.gvr[pathNative]).Namespace(c.namespace)
		if err := mergePatch(ctx, native, c.name, string(body), "status"); err != nil {
			return fmt.Errorf("status of native %s/%s: %w", c.namespace, c.name, err)
		}
		remote := r.w.cpDyn.Resource(c.kind.GVR()).Namespace(aggNamespace)
		return mergePatch(ctx, remote, remoteAggName(c.namespace, c.name), string(body), "status")
	})
}

// bytesPerObject measures the JSON size of an object of each path in a
// cluster-wide LIST.
func (r *aggRig) bytesPerObject(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	for _, path := range aggPaths {
		l, err := r.w.appDyn.Resource(r.gvr[path]).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		raw, err := json.Marshal(l)
		if err != nil {
			return nil, err
		}
		out[path] = len(raw) / max(1, len(l.Items))
	}
	return out, nil
}
