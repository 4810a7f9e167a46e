package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// localNamespaces is how many app-cluster namespaces the claims spread over.
const localNamespaces = 10

// throughputResult is one initial sync of Claims claims.
type throughputResult struct {
	Claims int    `json:"claims"`
	Mode   string `json:"mode"`
	// Seconds is from the connector's start (cold start) or the first
	// create (during creation) until the last remote claim exists.
	Seconds float64 `json:"seconds"`
	// SyncedSeconds is until the last local claim reports ControlPlaneSynced=True.
	SyncedSeconds float64 `json:"syncedSeconds"`
	// CreateSeconds is how long the bench took to create the local claims.
	CreateSeconds float64 `json:"createSeconds"`
	// BaselineSeconds is the bare client creating the same number of remote
	// objects, from its first create until the last is seen.
	BaselineSeconds float64 `json:"baselineSeconds"`
	// SecretSeconds is from the first connection Secret written in the
	// control plane until the connector copied the last one.
	SecretSeconds float64 `json:"secretSeconds"`
	// Requests made by the connector during the run, by API server, until
	// every claim was in sync (before the Secrets).
	AppReads, AppWrites, CPReads, CPWrites float64
	// ByMethod is the same, by API server ("app", "cp") and HTTP method.
	ByMethod map[string]float64 `json:"byMethod,omitempty"`
	// Passes is the claim syncers' reconciles until every claim was in
	// sync; SyncCPU the connector's CPU seconds by then (Proc's CPU also
	// holds the copies of the Secrets).
	Passes  float64   `json:"passes"`
	SyncCPU float64   `json:"syncCPU"`
	Proc    procStats `json:"proc"`
}

func (t throughputResult) rate() float64         { return float64(t.Claims) / t.Seconds }
func (t throughputResult) baselineRate() float64 { return float64(t.Claims) / t.BaselineSeconds }

// syncTimeout bounds the wait for an initial sync of n claims.
func syncTimeout(n int) time.Duration { return 2*time.Minute + time.Duration(n)*100*time.Millisecond }

func inNamespace(ns string, match func(*unstructured.Unstructured) bool) func(*unstructured.Unstructured) bool {
	return func(u *unstructured.Unstructured) bool { return u.GetNamespace() == ns && (match == nil || match(u)) }
}

func claimGVRs() []schema.GroupVersionResource {
	var out []schema.GroupVersionResource
	for _, k := range kinds {
		out = append(out, k.GVR())
	}
	return out
}

// throughputWorld starts a world with the local namespaces and watches on
// claims in the control plane (the app cluster serves no claim API before
// the connector mirrored it: see mirror).
func (b *bench) throughputWorld(ctx context.Context) (*world, *tracker, error) {
	w, err := startWorld(ctx)
	if err != nil {
		return nil, nil, err
	}
	tr := newTracker()
	err = w.createLocalNamespaces(ctx, namespaces("bench", localNamespaces))
	if err == nil {
		err = tr.watch(ctx, w.cpDyn, "", claimGVRs()...)
	}
	if err == nil {
		err = tr.watch(ctx, w.appDyn, "", secretsGVR)
	}
	if err != nil {
		tr.stop()
		_ = w.stop()
		return nil, nil, err
	}
	return w, tr, nil
}

// mirror starts the connector, waits until it has mirrored the claim APIs
// into the app cluster, and watches claims there too.
func (b *bench) mirror(ctx context.Context, w *world, tr *tracker, name string) (*connector, error) {
	conn, err := b.startConnector(ctx, w, name, 10*time.Hour)
	if err != nil {
		return nil, err
	}
	if err := tr.watch(ctx, w.appDyn, "", claimGVRs()...); err != nil {
		conn.stop()
		return nil, err
	}
	if err := warmUp(ctx, w, tr); err != nil {
		conn.stop()
		return nil, fmt.Errorf("warm up: %w", err)
	}
	return conn, nil
}

// warmUp sends one claim of each kind through the connector and back out,
// and one object of each kind through the baseline namespace. A watch
// opened on a kind that has not changed since is slow to deliver its first
// event (about 2 s: the API server waits for its watch cache to catch up);
// the runs should not time that, on either side.
func warmUp(ctx context.Context, w *world, tr *tracker) error {
	for _, c := range spread("warm-up", len(kinds), []string{"bench-0"}) {
		gvr := c.kind.GVR()
		remote := tr.expect(c.kind.Plural, connectorNamespace, c.remoteName(), exists)
		base := tr.expect(c.kind.Plural, baselineNamespace, c.name, exists)
		if _, err := w.appDyn.Resource(gvr).Namespace(c.namespace).Create(ctx, newClaim(c, 1), createOpts); err != nil {
			return err
		}
		u := newClaim(c, 1)
		u.SetNamespace(baselineNamespace)
		if _, err := w.cpDyn.Resource(gvr).Namespace(baselineNamespace).Create(ctx, u, createOpts); err != nil {
			return err
		}
		for _, ch := range []<-chan time.Time{remote, base} {
			if _, err := await(ch, syncTimeout(0), "warm-up claim "+c.name); err != nil {
				return err
			}
		}
		remoteGone := tr.expect(c.kind.Plural, connectorNamespace, c.remoteName(), gone)
		localGone := tr.expect(c.kind.Plural, c.namespace, c.name, gone)
		if err := w.appDyn.Resource(gvr).Namespace(c.namespace).Delete(ctx, c.name, metav1.DeleteOptions{}); err != nil {
			return err
		}
		if err := w.cpDyn.Resource(gvr).Namespace(baselineNamespace).Delete(ctx, c.name, metav1.DeleteOptions{}); err != nil {
			return err
		}
		for _, ch := range []<-chan time.Time{remoteGone, localGone} {
			if _, err := await(ch, syncTimeout(0), "warm-up claim "+c.name+" gone"); err != nil {
				return err
			}
		}
	}
	return nil
}

// baselineSync has a bare client create n remote objects directly, with the
// connector's QPS and burst, and returns the time until the last was seen.
func (b *bench) baselineSync(ctx context.Context, w *world, tr *tracker, n int) (time.Duration, error) {
	dyn, err := dynamic.NewForConfig(limited(w.cp.Config, b.o.QPS, b.o.Burst, "bench-baseline"))
	if err != nil {
		return 0, err
	}
	claims := spread("base", n, []string{baselineNamespace})
	seen := tr.count(resources(), n, inNamespace(baselineNamespace, nil))
	start := time.Now()
	err = parallel(ctx, n, b.o.Workers, func(ctx context.Context, i int) error {
		_, err := dyn.Resource(claims[i].kind.GVR()).Namespace(baselineNamespace).Create(ctx, newClaim(claims[i], 1), createOpts)
		return err
	})
	if err != nil {
		return 0, err
	}
	last, err := seen.wait(ctx, syncTimeout(n), nil)
	return last.Sub(start), err
}

// coldStart: the claims exist before the connector starts.
func (b *bench) coldStart(ctx context.Context, n int, largest bool) error {
	w, tr, err := b.throughputWorld(ctx)
	if err != nil {
		return err
	}
	defer func() { tr.stop(); _ = w.stop() }()
	res := throughputResult{Claims: n, Mode: "cold start"}
	// A connector ran before (it mirrored the APIs, so users could create
	// claims) and is down while they do.
	first, err := b.mirror(ctx, w, tr, fmt.Sprintf("cold-%d-mirror", n))
	if err != nil {
		return err
	}
	first.stop()
	base, err := b.baselineSync(ctx, w, tr, n)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	res.BaselineSeconds = base.Seconds()
	b.logf("cold start %d: baseline %.1f s (%.0f claims/s)", n, res.BaselineSeconds, float64(n)/res.BaselineSeconds)
	claims := spread("claim", n, namespaces("bench", localNamespaces))
	start := time.Now()
	if err := createClaims(ctx, w.appDyn, claims, b.o.Workers); err != nil {
		return err
	}
	res.CreateSeconds = time.Since(start).Seconds()
	remote := tr.count(resources(), n, inNamespace(connectorNamespace, nil))
	synced := tr.count(resources(), n, func(u *unstructured.Unstructured) bool { return u.GetNamespace() != connectorNamespace && inSync(u) })
	name := fmt.Sprintf("cold-%d", n)
	conn, err := startConnector(b.bin, w, b.o, 10*time.Hour, b.logPath(name))
	if err != nil {
		return err
	}
	defer func() { conn.stop() }()
	var prof *profiler
	if largest && b.o.Profile {
		prof = startProfiler(conn.pprofAddr, b.o.Out, name)
	}
	if err := b.waitSync(ctx, w, tr, conn, claims, remote, synced, conn.started, &res); err != nil {
		return err
	}
	if prof != nil {
		b.results.Profile = prof.finish(ctx, n)
	}
	b.results.Throughput = append(b.results.Throughput, res)
	if !largest {
		return nil
	}
	conn.stop()
	return b.steady(ctx, w, n)
}

// waitSync waits for both counters, then records the connector's requests
// and process figures into res.
func (b *bench) waitSync(ctx context.Context, w *world, tr *tracker, conn *connector, claims []claimRef, remote, synced *multiCounter, start time.Time, res *throughputResult) error {
	n := len(claims)
	last, err := remote.wait(ctx, syncTimeout(n), conn.alive)
	if err != nil {
		return fmt.Errorf("remote claims: %w", err)
	}
	res.Seconds = last.Sub(start).Seconds()
	last, err = synced.wait(ctx, syncTimeout(n), conn.alive)
	if err != nil {
		return fmt.Errorf("local claims in sync: %w", err)
	}
	res.SyncedSeconds = last.Sub(start).Seconds()
	if ps, err := readProcStats(conn.pid()); err == nil {
		res.SyncCPU = ps.CPU.Seconds()
	}
	res.Passes, _ = conn.metricSum(ctx, "controller_runtime_reconcile_total", claimControllers)
	req, err := conn.requests(ctx)
	if err != nil {
		return err
	}
	res.AppReads, res.AppWrites = req.split(conn.appHost)
	res.CPReads, res.CPWrites = req.split(conn.cpHost)
	res.ByMethod = req.byMethod(conn.appHost, conn.cpHost)
	secrets, err := b.connectionSecrets(ctx, w, tr, claims, conn.alive)
	if err != nil {
		return err
	}
	res.SecretSeconds = secrets.Seconds()
	if res.Proc, err = readProcStats(conn.pid()); err != nil {
		return err
	}
	b.logf("%s %d: connector %.1f s to remote (%.0f claims/s), %.1f s to all in sync; peak RSS %.0f MiB, CPU %.1f s",
		res.Mode, n, res.Seconds, res.rate(), res.SyncedSeconds, float64(res.Proc.PeakRSS)/(1<<20), res.Proc.CPU.Seconds())
	return nil
}

// duringCreation: the connector runs while the claims are being created.
func (b *bench) duringCreation(ctx context.Context, n int, first bool) error {
	w, tr, err := b.throughputWorld(ctx)
	if err != nil {
		return err
	}
	defer func() { tr.stop(); _ = w.stop() }()
	res := throughputResult{Claims: n, Mode: "during creation"}
	conn, err := b.mirror(ctx, w, tr, fmt.Sprintf("during-%d", n))
	if err != nil {
		return err
	}
	defer func() { conn.stop() }()
	base, err := b.baselineSync(ctx, w, tr, n)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	res.BaselineSeconds = base.Seconds()
	remote := tr.count(resources(), n, inNamespace(connectorNamespace, nil))
	synced := tr.count(resources(), n, func(u *unstructured.Unstructured) bool { return u.GetNamespace() != connectorNamespace && inSync(u) })
	claims := spread("claim", n, namespaces("bench", localNamespaces))
	before, err := conn.requests(ctx)
	if err != nil {
		return err
	}
	passesBefore, _ := conn.metricSum(ctx, "controller_runtime_reconcile_total", claimControllers)
	cpuBefore, _ := readProcStats(conn.pid())
	start := time.Now()
	if err := createClaims(ctx, w.appDyn, claims, b.o.Workers); err != nil {
		return err
	}
	res.CreateSeconds = time.Since(start).Seconds()
	if err := b.waitSync(ctx, w, tr, conn, claims, remote, synced, start, &res); err != nil {
		return err
	}
	b.subtractStartup(conn, before, &res)
	res.Passes -= passesBefore
	res.SyncCPU -= cpuBefore.CPU.Seconds()
	b.results.Throughput = append(b.results.Throughput, res)
	if !first {
		return nil
	}
	return b.recovery(ctx, w, conn, claims)
}

// subtractStartup removes the requests the connector made before the
// claims were created (its start and the API mirror).
func (b *bench) subtractStartup(conn *connector, before requests, res *throughputResult) {
	ar, aw := before.split(conn.appHost)
	cr, cw := before.split(conn.cpHost)
	res.AppReads -= ar
	res.AppWrites -= aw
	res.CPReads -= cr
	res.CPWrites -= cw
	for k, v := range before.byMethod(conn.appHost, conn.cpHost) {
		res.ByMethod[k] -= v
	}
}
