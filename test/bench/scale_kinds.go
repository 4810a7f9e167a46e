package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// kindsResult is one app cluster holding Claims claims over Kinds kinds,
// synced by one connector from a cold start.
type kindsResult struct {
	Kinds  int `json:"kinds"`
	Claims int `json:"claims"`
	// Seconds is from the connector's start until the last remote claim
	// exists; SyncedSeconds until the last local claim is in sync.
	Seconds       float64 `json:"seconds"`
	SyncedSeconds float64 `json:"syncedSeconds"`
	// BaselineSeconds is a bare client at the connector's QPS creating as
	// many objects in the control plane, until the last is seen.
	BaselineSeconds float64 `json:"baselineSeconds"`
	CreateSeconds   float64 `json:"createSeconds"`
	// Connector is the connector's process once every claim is in sync
	// (peak RSS, CPU from its start); RestRSS its RSS after the window at
	// rest.
	Connector  procStats `json:"connector"`
	RestRSS    int64     `json:"restRSSBytes"`
	Goroutines float64   `json:"goroutines"`
	// LeaseLost is how often the connector lost its cluster-id Lease (a
	// renewal failed) until every claim was in sync.
	LeaseLost float64 `json:"leaseLost"`
	// Requests a minute at rest (the connector's default resync) by API
	// server; the reads include the watches it reopens.
	AppReadsPerMin, AppWritesPerMin float64
	CPReadsPerMin, CPWritesPerMin   float64
	// SyncRequests are the connector's requests of the initial sync.
	SyncRequests map[string]float64 `json:"syncRequests"`
	// The control plane's kube-apiserver: its RSS before the claims, after
	// the baseline's objects and after the connector's; its CPU seconds
	// during the baseline and during the connector's sync; its CPU at rest
	// in cores; the watches open on it at rest.
	CPRSSIdle, CPRSSBaseline, CPRSSSynced int64
	CPCPUBaseline, CPCPUSync              float64
	CPCoresRest                           float64
	CPWatches                             float64
	// AppWatches are the watches open on the app cluster's API server.
	AppWatches float64 `json:"appWatches"`
	Load       string  `json:"load"`
}

func spreadOver(prefix string, n int, nss []string, ks []kind) []claimRef {
	out := make([]claimRef, n)
	for i := range out {
		out[i] = claimRef{kind: ks[i%len(ks)], namespace: nss[(i/len(ks))%len(nss)], name: fmt.Sprintf("%s-%05d", prefix, i)}
	}
	return out
}

func plurals(ks []kind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.Plural
	}
	return out
}

func gvrsOf(ks []kind) []schema.GroupVersionResource {
	out := make([]schema.GroupVersionResource, len(ks))
	for i, k := range ks {
		out[i] = k.GVR()
	}
	return out
}

// scaleKinds measures one cold start of n claims over k kinds.
func (b *bench) scaleKinds(ctx context.Context, k, n int) (*kindsResult, error) {
	if n < k {
		return nil, fmt.Errorf("--scale-claims=%d is fewer than %d kinds", n, k)
	}
	ks := makeKinds(k)
	res := &kindsResult{Kinds: k, Claims: n}
	b.logf("scale: %d claims over %d kinds: starting the clusters", n, k)
	w, err := startWorldOf(ctx, ks)
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.stop() }()
	cpPID, _, err := serverPIDs(w.cp)
	if err != nil {
		return nil, err
	}
	tr := newTracker()
	defer tr.stop()
	nss := namespaces("bench", localNamespaces)
	if err := w.createLocalNamespaces(ctx, nss); err != nil {
		return nil, err
	}
	if err := tr.watch(ctx, w.cpDyn, "", gvrsOf(ks)...); err != nil {
		return nil, err
	}
	// A connector ran before (it mirrored the APIs, so users could create
	// claims) and is down while they do.
	first, err := startConnector(b.bin, w, b.o, 10*time.Hour, b.logPath(fmt.Sprintf("scale-%d-kinds-mirror", k)))
	if err != nil {
		return nil, err
	}
	err = waitKinds(ctx, w.app, ks, 2*time.Minute+time.Duration(k)*time.Second)
	first.stop()
	if err != nil {
		return nil, fmt.Errorf("connector did not mirror the claim APIs: %w", err)
	}
	if err := tr.watch(ctx, w.appDyn, "", gvrsOf(ks)...); err != nil {
		return nil, err
	}
	p0, err := readProcStats(cpPID)
	if err != nil {
		return nil, err
	}
	res.CPRSSIdle = p0.RSS

	// The baseline: a bare client at the connector's QPS.
	dyn, err := dynamic.NewForConfig(limited(w.cp.Config, b.o.QPS, b.o.Burst, "bench-baseline"))
	if err != nil {
		return nil, err
	}
	base := spreadOver("base", n, []string{baselineNamespace}, ks)
	seen := tr.count(plurals(ks), n, inNamespace(baselineNamespace, nil))
	start := time.Now()
	if err := createClaims(ctx, dyn, base, b.o.Workers); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	last, err := seen.wait(ctx, syncTimeout(n), nil)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	res.BaselineSeconds = last.Sub(start).Seconds()
	p1, err := readProcStats(cpPID)
	if err != nil {
		return nil, err
	}
	res.CPCPUBaseline, res.CPRSSBaseline = (p1.CPU - p0.CPU).Seconds(), p1.RSS
	b.logf("scale: %d kinds: baseline %.1f s (%.0f objects/s)", k, res.BaselineSeconds, float64(n)/res.BaselineSeconds)

	claims := spreadOver("claim", n, nss, ks)
	start = time.Now()
	if err := createClaims(ctx, w.appDyn, claims, 2*b.o.Workers); err != nil {
		return nil, err
	}
	res.CreateSeconds = time.Since(start).Seconds()
	remote := tr.count(plurals(ks), n, inNamespace(connectorNamespace, nil))
	synced := tr.count(plurals(ks), n, func(u *unstructured.Unstructured) bool {
		return u.GetNamespace() != connectorNamespace && u.GetNamespace() != baselineNamespace && inSync(u)
	})
	p2, err := readProcStats(cpPID)
	if err != nil {
		return nil, err
	}
	conn, err := startConnector(b.bin, w, b.o, 10*time.Hour, b.logPath(fmt.Sprintf("scale-%d-kinds", k)))
	if err != nil {
		return nil, err
	}
	defer conn.stop()
	if last, err = remote.wait(ctx, syncTimeout(n), conn.alive); err != nil {
		return nil, fmt.Errorf("remote claims: %w", err)
	}
	res.Seconds = last.Sub(conn.started).Seconds()
	if last, err = synced.wait(ctx, syncTimeout(n), conn.alive); err != nil {
		return nil, fmt.Errorf("local claims in sync: %w", err)
	}
	res.SyncedSeconds = last.Sub(conn.started).Seconds()
	p3, err := readProcStats(cpPID)
	if err != nil {
		return nil, err
	}
	res.CPCPUSync, res.CPRSSSynced = (p3.CPU - p2.CPU).Seconds(), p3.RSS
	if res.Connector, err = readProcStats(conn.pid()); err != nil {
		return nil, err
	}
	r0, err := conn.requests(ctx)
	if err != nil {
		return nil, err
	}
	res.SyncRequests = r0.byMethod(conn.appHost, conn.cpHost)
	res.LeaseLost = conn.metric(ctx, "mcp_connector_control_plane_lease_lost_total")
	// The control plane's own metrics after the sync (request latencies by
	// resource and verb, APF's queueing by priority level), for a reader who
	// wants to know what made the sync slow.
	if raw, err := serverMetrics(ctx, w.cp); err == nil {
		_ = os.WriteFile(filepath.Join(b.o.Out, "logs", fmt.Sprintf("controlplane-metrics-scale-%d-kinds.txt", k)), raw, 0o644)
	}
	b.logf("scale: %d kinds: connector %.1f s to remote (%.0f claims/s), %.1f s in sync; peak RSS %.0f MiB",
		k, res.Seconds, float64(n)/res.Seconds, res.SyncedSeconds, mib(res.Connector.PeakRSS))

	// At rest.
	if err := window(ctx, scaleOpts.Window); err != nil {
		return nil, err
	}
	r1, err := conn.requests(ctx)
	if err != nil {
		return nil, err
	}
	p4, err := readProcStats(cpPID)
	if err != nil {
		return nil, err
	}
	cs, err := readProcStats(conn.pid())
	if err != nil {
		return nil, err
	}
	d, perMin := r1.sub(r0), scaleOpts.Window.Minutes()
	ar, aw := d.split(conn.appHost)
	cr, cw := d.split(conn.cpHost)
	res.AppReadsPerMin, res.AppWritesPerMin, res.CPReadsPerMin, res.CPWritesPerMin = ar/perMin, aw/perMin, cr/perMin, cw/perMin
	res.RestRSS = cs.RSS
	res.CPCoresRest = cpuCores(p3, p4, scaleOpts.Window)
	res.Goroutines = conn.metric(ctx, "go_goroutines")
	g, err := readServerGauges(ctx, w.cp)
	if err != nil {
		return nil, err
	}
	res.CPWatches = g.Watches
	if g, err = readServerGauges(ctx, w.app); err != nil {
		return nil, err
	}
	res.AppWatches = g.Watches
	res.Load = loadavg()
	return res, nil
}
