package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// latencyTimeout bounds one observation.
const latencyTimeout = 60 * time.Second

var secretGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// The latency figures, in the order of the report.
const (
	figCreate = "local create → remote exists"
	figUpdate = "local spec update → remote updated"
	figStatus = "remote status change → local status"
	figSecret = "remote connection Secret → local Secret"
	figDelete = "local delete → remote gone"
)

var latencyFigures = []string{figCreate, figUpdate, figStatus, figSecret, figDelete}

// baselineLatency says what the bare client does for each figure.
var baselineLatency = map[string]string{
	figCreate: "create the remote object; see it through a watch",
	figUpdate: "patch the remote spec; see it through a watch",
	figStatus: "patch the remote status; see it through a watch",
	figSecret: "create the remote Secret; see it through a watch",
	figDelete: "delete the remote object; see it go through a watch",
}

// latencyRun measures one figure at a time, one claim at a time: each
// sample times the baseline and then the connector, interleaved, so that
// both see the same noise. The first sample of each figure is a warm-up and
// is not recorded. The connector's side is settled (the local claim
// is in sync again) before the next sample.
type latencyRun struct {
	w  *world
	tr *tracker
	// cp is the bench's own client of the control plane: it plays Crossplane
	// and watches. baseline is the bare client the connector is compared with.
	cp, baseline dynamic.Interface
	ns           string
	claims       []claimRef
	res          map[string]*latencyResult
	// figureDone, if set, is called after the last sample of each figure.
	figureDone func(fig string) error
	// localGoneMs is, for each delete sample but the warm-up, how long
	// until the local claim was gone too (its finalizer released).
	localGoneMs []float64
}

func (b *bench) latency(ctx context.Context) error {
	b.logf("latency: %d samples per figure", b.o.LatencySamples)
	w, err := startWorld(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = w.stop() }()
	const ns = "bench-latency"
	if err := w.createLocalNamespaces(ctx, []string{ns}); err != nil {
		return err
	}
	conn, err := b.startConnector(ctx, w, "latency", 10*time.Hour)
	if err != nil {
		return err
	}
	defer conn.stop()
	r, err := b.newLatencyRun(ctx, w, w.cpDyn, w.cp.Config, ns, "lat")
	if err != nil {
		return err
	}
	defer r.tr.stop()
	res, err := r.measure(ctx, b.logf)
	b.results.Latency = append(b.results.Latency, res...)
	return err
}

// newLatencyRun prepares LatencySamples+1 claims named prefix-N in the app
// namespace ns, with cp as the bench's client of the control plane and a
// baseline client of cpConfig, and starts the watches.
func (b *bench) newLatencyRun(ctx context.Context, w *world, cp dynamic.Interface, cpConfig *rest.Config, ns, prefix string) (*latencyRun, error) {
	r := &latencyRun{w: w, tr: newTracker(), cp: cp, ns: ns, claims: spread(prefix, b.o.LatencySamples+1, []string{ns}), res: map[string]*latencyResult{}}
	var err error
	if r.baseline, err = dynamic.NewForConfig(limited(cpConfig, b.o.QPS, b.o.Burst, "bench-baseline")); err != nil {
		r.tr.stop()
		return nil, err
	}
	if err := r.watch(ctx); err != nil {
		r.tr.stop()
		return nil, err
	}
	return r, nil
}

// measure takes every sample of every figure and returns the figures in
// the order of the report (those it finished, on an error).
func (r *latencyRun) measure(ctx context.Context, logf func(string, ...any)) ([]latencyResult, error) {
	for _, f := range latencyFigures {
		r.res[f] = &latencyResult{Figure: f, Baseline: baselineLatency[f]}
	}
	steps := []struct {
		fig    string
		sample func(context.Context, int) (time.Duration, time.Duration, error)
	}{{figCreate, r.create}, {figUpdate, r.update}, {figStatus, r.status}, {figSecret, r.secret}, {figDelete, r.delete}}
	var out []latencyResult
	for _, s := range steps {
		for i := range r.claims {
			c, base, err := s.sample(ctx, i)
			if err != nil {
				return out, fmt.Errorf("%s, sample %d: %w", s.fig, i, err)
			}
			if i == 0 {
				continue // warm-up: the first object of a kind in a fresh namespace is slow for both
			}
			r.res[s.fig].ConnectorMs = append(r.res[s.fig].ConnectorMs, ms(c))
			r.res[s.fig].BaselineMs = append(r.res[s.fig].BaselineMs, ms(base))
		}
		logf("latency: %s: connector p50 %.1f ms, baseline p50 %.1f ms", s.fig,
			percentile(r.res[s.fig].ConnectorMs, 50), percentile(r.res[s.fig].BaselineMs, 50))
		out = append(out, *r.res[s.fig])
		if r.figureDone != nil {
			if err := r.figureDone(s.fig); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

func (r *latencyRun) watch(ctx context.Context) error {
	var gvrs []schema.GroupVersionResource
	for _, k := range kinds {
		gvrs = append(gvrs, k.GVR())
	}
	gvrs = append(gvrs, secretGVR)
	for _, ns := range []string{connectorNamespace, baselineNamespace} {
		if err := r.tr.watch(ctx, r.cp, ns, gvrs...); err != nil {
			return err
		}
	}
	return r.tr.watch(ctx, r.w.appDyn, r.ns, gvrs...)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// timed runs act and returns how long until ch fired.
func timed(ch <-chan time.Time, what string, act func() error) (time.Duration, error) {
	start := time.Now()
	if err := act(); err != nil {
		return 0, err
	}
	seen, err := await(ch, latencyTimeout, what)
	return seen.Sub(start), err
}

func exists(u *unstructured.Unstructured) bool { return u != nil }
func gone(u *unstructured.Unstructured) bool   { return u == nil }

func replicasAre(n int64) func(*unstructured.Unstructured) bool {
	return func(u *unstructured.Unstructured) bool {
		if u == nil {
			return false
		}
		v, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
		return v == n
	}
}

func endpointIs(s string) func(*unstructured.Unstructured) bool {
	return func(u *unstructured.Unstructured) bool {
		if u == nil {
			return false
		}
		v, _, _ := unstructured.NestedString(u.Object, "status", "endpoint")
		return v == s
	}
}

// settle waits until the connector is done with a claim (not timed).
func settle(ch <-chan time.Time, what string) error {
	_, err := await(ch, latencyTimeout, what)
	return err
}

func (r *latencyRun) create(ctx context.Context, i int) (time.Duration, time.Duration, error) {
	c := r.claims[i]
	res := c.kind.Plural
	base, err := timed(r.tr.expect(res, baselineNamespace, c.name, exists), "baseline create", func() error {
		u := newClaim(c, 1)
		u.SetNamespace(baselineNamespace)
		_, err := r.baseline.Resource(c.kind.GVR()).Namespace(baselineNamespace).Create(ctx, u, createOpts)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	synced := r.tr.expect(res, r.ns, c.name, inSync)
	conn, err := timed(r.tr.expect(res, connectorNamespace, c.remoteName(), exists), "remote claim", func() error {
		_, err := r.w.appDyn.Resource(c.kind.GVR()).Namespace(r.ns).Create(ctx, newClaim(c, 1), createOpts)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	return conn, base, settle(synced, "local claim in sync")
}

func mergePatch(ctx context.Context, ri dynamic.ResourceInterface, name, body string, sub ...string) error {
	_, err := ri.Patch(ctx, name, types.MergePatchType, []byte(body), metav1.PatchOptions{}, sub...)
	return err
}

func (r *latencyRun) update(ctx context.Context, i int) (time.Duration, time.Duration, error) {
	c := r.claims[i]
	res, body := c.kind.Plural, `{"spec":{"replicas":2}}`
	base, err := timed(r.tr.expect(res, baselineNamespace, c.name, replicasAre(2)), "baseline update", func() error {
		return mergePatch(ctx, r.baseline.Resource(c.kind.GVR()).Namespace(baselineNamespace), c.name, body)
	})
	if err != nil {
		return 0, 0, err
	}
	synced := r.tr.expect(res, r.ns, c.name, inSync)
	conn, err := timed(r.tr.expect(res, connectorNamespace, c.remoteName(), replicasAre(2)), "remote update", func() error {
		return mergePatch(ctx, r.w.appDyn.Resource(c.kind.GVR()).Namespace(r.ns), c.name, body)
	})
	if err != nil {
		return 0, 0, err
	}
	return conn, base, settle(synced, "local claim in sync")
}

func statusPatch(endpoint string) string {
	return fmt.Sprintf(`{"status":{"endpoint":%q,"conditions":[{"type":"Ready","status":"True","reason":"Available","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}`, endpoint)
}

func (r *latencyRun) status(ctx context.Context, i int) (time.Duration, time.Duration, error) {
	c := r.claims[i]
	res, ep := c.kind.Plural, fmt.Sprintf("ep-%d", i)
	base, err := timed(r.tr.expect(res, baselineNamespace, c.name, endpointIs(ep)), "baseline status", func() error {
		return mergePatch(ctx, r.baseline.Resource(c.kind.GVR()).Namespace(baselineNamespace), c.name, statusPatch(ep), "status")
	})
	if err != nil {
		return 0, 0, err
	}
	// The bench plays Crossplane: it writes the remote claim's status.
	conn, err := timed(r.tr.expect(res, r.ns, c.name, endpointIs(ep)), "local status", func() error {
		return mergePatch(ctx, r.cp.Resource(c.kind.GVR()).Namespace(connectorNamespace), c.remoteName(), statusPatch(ep), "status")
	})
	return conn, base, err
}

func connectionSecret(ns, name string, owner *unstructured.Unstructured) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "connection.crossplane.io/v1alpha1",
		"data": map[string]any{"endpoint": "ZGIuZXhhbXBsZS5vcmc=", "password": "c2VjcmV0"},
	}}
	u.SetNamespace(ns)
	u.SetName(name)
	if owner != nil {
		yes := true
		u.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: owner.GetAPIVersion(), Kind: owner.GetKind(),
			Name: owner.GetName(), UID: owner.GetUID(), Controller: &yes, BlockOwnerDeletion: &yes}})
	}
	return u
}

func (r *latencyRun) secret(ctx context.Context, i int) (time.Duration, time.Duration, error) {
	c := r.claims[i]
	base, err := timed(r.tr.expect("secrets", baselineNamespace, c.secretName(), exists), "baseline Secret", func() error {
		_, err := r.baseline.Resource(secretGVR).Namespace(baselineNamespace).Create(ctx, connectionSecret(baselineNamespace, c.secretName(), nil), createOpts)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	remote, err := r.cp.Resource(c.kind.GVR()).Namespace(connectorNamespace).Get(ctx, c.remoteName(), metav1.GetOptions{})
	if err != nil {
		return 0, 0, err
	}
	// The bench plays Crossplane: it writes the Secret the remote claim asks for.
	conn, err := timed(r.tr.expect("secrets", r.ns, c.secretName(), exists), "local Secret", func() error {
		_, err := r.cp.Resource(secretGVR).Namespace(connectorNamespace).Create(ctx, connectionSecret(connectorNamespace, c.remoteSecretName(), remote), createOpts)
		return err
	})
	return conn, base, err
}

func (r *latencyRun) delete(ctx context.Context, i int) (time.Duration, time.Duration, error) {
	c := r.claims[i]
	res := c.kind.Plural
	base, err := timed(r.tr.expect(res, baselineNamespace, c.name, gone), "baseline delete", func() error {
		return r.baseline.Resource(c.kind.GVR()).Namespace(baselineNamespace).Delete(ctx, c.name, metav1.DeleteOptions{})
	})
	if err != nil {
		return 0, 0, err
	}
	localGone := r.tr.expect(res, r.ns, c.name, gone)
	start := time.Now()
	conn, err := timed(r.tr.expect(res, connectorNamespace, c.remoteName(), gone), "remote gone", func() error {
		return r.w.appDyn.Resource(c.kind.GVR()).Namespace(r.ns).Delete(ctx, c.name, metav1.DeleteOptions{})
	})
	if err != nil {
		return 0, 0, err
	}
	at, err := await(localGone, latencyTimeout, "local claim gone")
	if i > 0 {
		r.localGoneMs = append(r.localGoneMs, ms(at.Sub(start)))
	}
	return conn, base, err
}

// logPath is where a connector run logs.
func (b *bench) logPath(name string) string {
	return filepath.Join(b.o.Out, "logs", "mcp-connector-"+name+".log")
}
