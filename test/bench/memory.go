package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The memory part (issue 15 item 3): the connector's RSS per claim at the
// largest --sizes, each claim with its connection Secret on both sides, run
// once with GOMEMLIMIT as the chart sets it and once without, each in a
// world of its own. Each run is an initial sync (cold start) followed by a
// restart over the synced world, which is what a connector at rest holds.
func init() {
	register(registeredPart{name: "memory", order: 50, run: runMemory, section: memoryPartSection})
}

// memoryRun is one connector setting's figures.
type memoryRun struct {
	// GoMemLimit is the connector's GOMEMLIMIT in bytes, 0 for none.
	GoMemLimit int64 `json:"goMemLimit"`
	Claims     int   `json:"claims"`
	// SyncSeconds is from the connector's start until every local claim
	// was in sync; SecretSeconds from the first connection Secret until the
	// last copy.
	SyncSeconds   float64 `json:"syncSeconds"`
	SecretSeconds float64 `json:"secretSeconds"`
	// Sync is the process after the initial sync and the Secret copies.
	Sync procStats `json:"sync"`
	// HeapBytes is the live heap then, after a forced collection.
	HeapBytes int64  `json:"heapBytes"`
	HeapTop   string `json:"heapTop"`
	// Restart is a second connector over the synced world, once its first
	// pass is done (nothing left to write); RestartSeconds until then.
	Restart        procStats `json:"restart"`
	RestartSeconds float64   `json:"restartSeconds"`
	RestartHeap    int64     `json:"restartHeapBytes"`
	RestartHeapTop string    `json:"restartHeapTop"`
	LoadBefore     string    `json:"loadBefore"`
	LoadAfter      string    `json:"loadAfter"`
}

type memoryResult struct {
	Runs []memoryRun `json:"runs"`
}

func runMemory(ctx context.Context, b *bench) error {
	n := b.o.Sizes[len(b.o.Sizes)-1]
	limit, err := chartMemoryLimit()
	if err != nil {
		return err
	}
	res := memoryResult{}
	for _, l := range []string{"chart", "off"} {
		r, err := b.memoryRun(ctx, n, l)
		if err != nil {
			return fmt.Errorf("GOMEMLIMIT %s: %w", l, err)
		}
		if l == "chart" {
			r.GoMemLimit = limit
		}
		res.Runs = append(res.Runs, r)
		if err := b.save("memory", res); err != nil {
			return err
		}
		if err := b.write(); err != nil {
			return err
		}
	}
	return nil
}

// memoryRun measures one world: n claims created while the connector is
// down, a cold start with their Secrets, then a restart.
func (b *bench) memoryRun(ctx context.Context, n int, limit string) (memoryRun, error) {
	r := memoryRun{Claims: n, LoadBefore: loadavg()}
	o := *b.o
	o.GoMemLimit = limit
	w, tr, err := b.throughputWorld(ctx)
	if err != nil {
		return r, err
	}
	defer func() { tr.stop(); _ = w.stop() }()
	name := fmt.Sprintf("memory-%d-%s", n, limit)
	first, err := b.mirror(ctx, w, tr, name+"-mirror")
	if err != nil {
		return r, err
	}
	first.stop()
	claims := spread("claim", n, namespaces("bench", localNamespaces))
	if err := createClaims(ctx, w.appDyn, claims, b.o.Workers); err != nil {
		return r, err
	}
	synced := tr.count(resources(), n, func(u *unstructured.Unstructured) bool { return u.GetNamespace() != connectorNamespace && inSync(u) })
	conn, err := startConnector(b.bin, w, &o, 10*time.Hour, b.logPath(name))
	if err != nil {
		return r, err
	}
	defer func() { conn.stop() }()
	last, err := synced.wait(ctx, syncTimeout(n), conn.alive)
	if err != nil {
		return r, fmt.Errorf("local claims in sync: %w", err)
	}
	r.SyncSeconds = last.Sub(conn.started).Seconds()
	secrets, err := b.connectionSecrets(ctx, w, tr, claims, conn.alive)
	if err != nil {
		return r, err
	}
	r.SecretSeconds = secrets.Seconds()
	if r.Sync, err = readProcStats(conn.pid()); err != nil {
		return r, err
	}
	r.HeapBytes, r.HeapTop = b.liveHeap(ctx, conn, name)
	b.logf("memory %d, GOMEMLIMIT %s: in sync after %.1f s, peak RSS %.0f MiB (%.1f KiB a claim), live heap %.0f MiB",
		n, limit, r.SyncSeconds, mib(r.Sync.PeakRSS), kibPerClaim(r.Sync.PeakRSS, n), mib(r.HeapBytes))
	conn.stop()

	conn, err = startConnector(b.bin, w, &o, 10*time.Hour, b.logPath(name+"-restart"))
	if err != nil {
		return r, err
	}
	if err := waitQuiet(ctx, conn, float64(n), syncTimeout(n)); err != nil {
		return r, fmt.Errorf("restart: %w", err)
	}
	r.RestartSeconds = time.Since(conn.started).Seconds()
	if r.Restart, err = readProcStats(conn.pid()); err != nil {
		return r, err
	}
	r.RestartHeap, r.RestartHeapTop = b.liveHeap(ctx, conn, name+"-restart")
	r.LoadAfter = loadavg()
	b.logf("memory %d, GOMEMLIMIT %s: restart quiet after %.1f s, peak RSS %.0f MiB, RSS %.0f MiB (%.1f KiB a claim), live heap %.0f MiB",
		n, limit, r.RestartSeconds, mib(r.Restart.PeakRSS), mib(r.Restart.RSS), kibPerClaim(r.Restart.RSS, n), mib(r.RestartHeap))
	return r, nil
}

// liveHeap takes a heap profile after a forced collection and returns the
// live heap (the runtime's heap_alloc right after it) and the profile's top.
func (b *bench) liveHeap(ctx context.Context, conn *connector, name string) (int64, string) {
	p := &profiler{addr: conn.pprofAddr, dir: filepath.Join(b.o.Out, "profiles")}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return 0, err.Error()
	}
	file := filepath.Join(p.dir, name+"-heap.pprof")
	if err := p.fetch(ctx, "/debug/pprof/heap?gc=1", file); err != nil {
		return 0, fmt.Sprintf("heap profile: %v", err)
	}
	return heapAlloc(ctx, p, file+".txt"), pprofTop("-sample_index=inuse_space", file)
}

// heapAlloc is HeapAlloc right after a forced collection, from the text form
// of the heap profile (its runtime.MemStats lines are written then).
func heapAlloc(ctx context.Context, p *profiler, file string) int64 {
	if err := p.fetch(ctx, "/debug/pprof/heap?gc=1&debug=1", file); err != nil {
		return 0
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "# HeapAlloc = "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// waitQuiet waits until the connector has reconciled at least n times and
// nothing is queued or reconciled for 5 s: its first pass is done.
func waitQuiet(ctx context.Context, conn *connector, n float64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last float64
	quietSince := time.Now()
	for time.Now().Before(deadline) {
		if err := conn.alive(); err != nil {
			return err
		}
		done, err := conn.metricSum(ctx, "controller_runtime_reconcile_total")
		if err == nil {
			depth, _ := conn.metricSum(ctx, "workqueue_depth")
			if done != last || depth > 0 {
				last, quietSince = done, time.Now()
			} else if done >= n && time.Since(quietSince) >= 5*time.Second {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("connector not quiet after %s (%.0f reconciles)", timeout, last)
}

func mib(b int64) float64                { return float64(b) / (1 << 20) }
func kibPerClaim(b int64, n int) float64 { return float64(b) / 1024 / float64(n) }

func memoryPartSection(p printer, r *Results) {
	var res memoryResult
	if !loadPart(r, "memory", &res) || len(res.Runs) == 0 {
		return
	}
	p("## Memory at scale, with and without GOMEMLIMIT")
	p("")
	p("Each row is a world of its own: %d claims created while the connector is down, a cold start, then a connection Secret per claim written in the control plane (playing Crossplane) and copied down; peak RSS (VmHWM) and the live heap (after a forced collection) then. Then a second connector over the synced world; its figures once its first pass is done (nothing queued for 5 s). GOMEMLIMIT as the chart's deployment sets it: the container's limits.memory of values.yaml, in bytes.", res.Runs[0].Claims)
	p("")
	p("| GOMEMLIMIT | claims | in sync after | peak RSS | per claim | live heap | per claim | restart: peak RSS | RSS at rest | per claim | live heap | load before → after | goal (≤ %.0f KiB a claim) |", goalKiBPerClaim)
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
	for _, x := range res.Runs {
		lim := "none"
		if x.GoMemLimit > 0 {
			lim = fmt.Sprintf("%.0f MiB", mib(x.GoMemLimit))
		}
		p("| %s | %d | %.1f s | %.0f MiB | %.1f KiB | %.0f MiB | %.1f KiB | %.0f MiB | %.0f MiB | %.1f KiB | %.0f MiB | %s → %s | %s |", lim, x.Claims, x.SyncSeconds,
			mib(x.Sync.PeakRSS), kibPerClaim(x.Sync.PeakRSS, x.Claims), mib(x.HeapBytes), kibPerClaim(x.HeapBytes, x.Claims),
			mib(x.Restart.PeakRSS), mib(x.Restart.RSS), kibPerClaim(x.Restart.RSS, x.Claims), mib(x.RestartHeap), x.LoadBefore, x.LoadAfter,
			verdict(kibPerClaim(max(x.Sync.PeakRSS, x.Restart.PeakRSS), x.Claims) <= goalKiBPerClaim))
	}
	p("")
	for _, x := range res.Runs {
		lim := "no GOMEMLIMIT"
		if x.GoMemLimit > 0 {
			lim = fmt.Sprintf("GOMEMLIMIT %.0f MiB", mib(x.GoMemLimit))
		}
		for _, s := range []struct{ title, body string }{{"after the initial sync", x.HeapTop}, {"at rest after the restart", x.RestartHeapTop}} {
			p("### Live heap, %s, %s (inuse_space)", lim, s.title)
			p("")
			p("```")
			p("%s", s.body)
			p("```")
			p("")
		}
	}
}
