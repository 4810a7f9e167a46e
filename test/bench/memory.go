package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The memory part (issue 15 item 3): the connector's RSS per claim at the
// largest --sizes, each claim with its connection Secret on both sides, run
// once with the Go runtime settings of the chart (GOMEMLIMIT, GOGC) and once
// with none, each in a world of its own. Each run is an initial sync (cold
// start) followed by a restart over the synced world, which is what a
// connector at rest holds; the first world then restarts the connector once
// more for each --memory-restart-gogc, to compare GOGC values at rest in the
// same world.
func init() {
	partFlags = append(partFlags, func(fs *flag.FlagSet) {
		fs.Var(&memoryOpts.Runs, "memory-runs", "memory part: comma-separated worlds to run: chart (GOMEMLIMIT and GOGC as the chart sets them) and none (neither).")
		fs.Var(&memoryOpts.RestartGOGC, "memory-restart-gogc", "memory part: comma-separated GOGC values of further restarts at rest in the first world (empty: none).")
		fs.IntVar(&memoryOpts.SecretBytes, "secret-bytes", 0, "memory and throughput parts: add a key of this many bytes (a kubeconfig's size, say: 5000) to each connection Secret the bench writes, beside its two short keys (0: none).")
		fs.DurationVar(&memoryOpts.Settle, "memory-settle", 0, "memory part: after each restart's figures at rest, wait this long and read RSS again (the runtime returns freed memory to the system over time; 0: skip).")
	})
	register(registeredPart{name: "memory", order: 50, run: runMemory, section: memoryPartSection})
}

// memoryOptions are the memory part's flags.
type memoryOptions struct {
	Runs        stringList
	RestartGOGC stringList
	Settle      time.Duration
	SecretBytes int
}

var memoryOpts = memoryOptions{Runs: stringList{"chart", "none"}}

// stringList is a comma-separated list flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = nil
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			*l = append(*l, f)
		}
	}
	return nil
}

// memoryRun is one connector setting's figures.
type memoryRun struct {
	// GoMemLimit is the connector's GOMEMLIMIT in bytes, 0 for none; GOGC
	// its GOGC, "" for none (the runtime's 100).
	GoMemLimit int64  `json:"goMemLimit"`
	GOGC       string `json:"gogc,omitempty"`
	Claims     int    `json:"claims"`
	// SyncSeconds is from the connector's start until every local claim
	// was in sync; SecretSeconds from the first connection Secret until the
	// last copy.
	SyncSeconds   float64 `json:"syncSeconds"`
	SecretSeconds float64 `json:"secretSeconds"`
	// Sync is the process after the initial sync and the Secret copies.
	Sync    procStats `json:"sync"`
	SyncRSS rssParts  `json:"syncRSS"`
	// HeapBytes is the live heap then, after a forced collection; Heap the
	// runtime's accounts of its memory then.
	HeapBytes int64    `json:"heapBytes"`
	Heap      memStats `json:"heap"`
	HeapTop   string   `json:"heapTop"`
	// SyncPeak is the heap as the initial sync's RSS neared its peak.
	SyncPeak peakHeap `json:"syncPeak"`
	// Restart is a second connector over the synced world, once its first
	// pass is done (nothing left to write); RestartSeconds until then.
	Restart        procStats `json:"restart"`
	RestartRSS     rssParts  `json:"restartRSS"`
	RestartSeconds float64   `json:"restartSeconds"`
	RestartHeap    int64     `json:"restartHeapBytes"`
	RestartMem     memStats  `json:"restartMem"`
	RestartHeapTop string    `json:"restartHeapTop"`
	// RestartPeak is the heap as the restart's RSS neared its peak.
	RestartPeak    peakHeap `json:"restartPeak"`
	RestartLoad    string   `json:"restartLoad"`
	RestartSettled rssParts `json:"restartSettled"`
	// Restarts are the further restarts at rest of --memory-restart-gogc.
	Restarts   []memoryRestart `json:"restarts,omitempty"`
	LoadBefore string          `json:"loadBefore"`
	LoadAfter  string          `json:"loadAfter"`
}

// memoryRestart is one further restart over the synced world.
type memoryRestart struct {
	GOGC    string    `json:"gogc"`
	Seconds float64   `json:"seconds"`
	Proc    procStats `json:"proc"`
	RSS     rssParts  `json:"rss"`
	Heap    int64     `json:"heapBytes"`
	Mem     memStats  `json:"mem"`
	Load    string    `json:"load"`
	// Settled is RSS after --memory-settle more at rest (zero without).
	Settled    rssParts `json:"settled"`
	SettledCPU float64  `json:"settledCPUSeconds"`
}

type memoryResult struct {
	// Build and Source say how and from what the connector was built.
	Build  string `json:"build,omitempty"`
	Source string `json:"source,omitempty"`
	// SecretBytes is --secret-bytes: the size of the kubeconfig key added to
	// each connection Secret (0: none).
	SecretBytes int         `json:"secretBytes,omitempty"`
	Runs        []memoryRun `json:"runs"`
}

func runMemory(ctx context.Context, b *bench) error {
	n := b.o.Sizes[len(b.o.Sizes)-1]
	chart, err := readChartRuntime()
	if err != nil {
		return err
	}
	res := memoryResult{Build: b.o.ConnectorBuild, Source: b.o.ConnectorSource, SecretBytes: memoryOpts.SecretBytes}
	for i, run := range memoryOpts.Runs {
		o := *b.o
		switch run {
		case "chart":
		case "none":
			o.GoMemLimit, o.GoGC = "off", "off"
		default:
			return fmt.Errorf("--memory-runs: unknown run %q (want chart or none)", run)
		}
		var restarts []string
		if i == 0 {
			restarts = memoryOpts.RestartGOGC
		}
		r, err := b.memoryRun(ctx, n, &o, run, restarts)
		if err != nil {
			return fmt.Errorf("memory run %s: %w", run, err)
		}
		r.GoMemLimit, r.GOGC = envLimit(o.GoMemLimit, chart), envGOGC(o.GoGC, chart)
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

// envLimit is the GOMEMLIMIT in bytes that --gomemlimit=v sets, 0 for none
// or a value the report does not parse.
func envLimit(v string, chart chartRuntime) int64 {
	switch v {
	case "chart":
		return chart.MemoryLimit
	case "off", "":
		return 0
	}
	// The runtime's units (MiB) are the quantity's (Mi) with a B.
	q, err := resource.ParseQuantity(strings.TrimSuffix(v, "B"))
	if err != nil {
		return 0
	}
	return q.Value()
}

// envGOGC is the GOGC that --gogc=v sets, "" for none.
func envGOGC(v string, chart chartRuntime) string {
	switch v {
	case "chart":
		if chart.GOGC > 0 {
			return strconv.Itoa(chart.GOGC)
		}
		return ""
	case "off":
		return ""
	}
	return v
}

// memoryRun measures one world: n claims created while the connector is
// down, a cold start with their Secrets, then a restart, then a restart for
// each GOGC of restarts.
func (b *bench) memoryRun(ctx context.Context, n int, o *Options, run string, restarts []string) (memoryRun, error) {
	r := memoryRun{Claims: n, LoadBefore: loadavg()}
	w, tr, err := b.throughputWorld(ctx)
	if err != nil {
		return r, err
	}
	defer func() { tr.stop(); _ = w.stop() }()
	name := fmt.Sprintf("memory-%d-%s", n, run)
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
	conn, err := startConnector(b.bin, w, o, 10*time.Hour, b.logPath(name))
	if err != nil {
		return r, err
	}
	defer func() { conn.stop() }()
	peak := b.watchPeak(ctx, conn, name)
	defer peak.finish()
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
	r.SyncPeak = peak.finish()
	if r.Sync, err = readProcStats(conn.pid()); err != nil {
		return r, err
	}
	r.SyncRSS = readRSSParts(conn.pid())
	r.Heap, r.HeapTop = b.liveHeap(ctx, conn, name)
	r.HeapBytes = r.Heap.Alloc
	b.logf("memory %d, %s: in sync after %.1f s, peak RSS %.0f MiB (%.1f KiB a claim), live heap %.0f MiB",
		n, run, r.SyncSeconds, mib(r.Sync.PeakRSS), kibPerClaim(r.Sync.PeakRSS, n), mib(r.HeapBytes))
	conn.stop()

	rs, err := b.restartAtRest(ctx, w, o, n, name+"-restart", true)
	if err != nil {
		return r, fmt.Errorf("restart: %w", err)
	}
	r.Restart, r.RestartRSS, r.RestartSeconds, r.RestartHeap, r.RestartMem = rs.Proc, rs.RSS, rs.Seconds, rs.Heap, rs.Mem
	r.RestartHeapTop, r.RestartLoad, r.RestartSettled, r.RestartPeak = rs.heapTop, rs.Load, rs.Settled, rs.peak
	b.logf("memory %d, %s: restart quiet after %.1f s, peak RSS %.0f MiB, RSS %.0f MiB (%.1f KiB a claim; file %.0f MiB), live heap %.0f MiB",
		n, run, r.RestartSeconds, mib(r.Restart.PeakRSS), mib(r.Restart.RSS), kibPerClaim(r.Restart.RSS, n), mib(r.RestartRSS.File), mib(r.RestartHeap))
	for _, g := range restarts {
		og := *o
		og.GoGC = g
		rs, err := b.restartAtRest(ctx, w, &og, n, name+"-restart-gogc-"+g, false)
		if err != nil {
			return r, fmt.Errorf("restart with GOGC %s: %w", g, err)
		}
		b.logf("memory %d, %s, GOGC %s: restart quiet after %.1f s, peak RSS %.0f MiB, RSS %.0f MiB, CPU %.1f s",
			n, run, g, rs.Seconds, mib(rs.Proc.PeakRSS), mib(rs.Proc.RSS), rs.Proc.CPU.Seconds())
		r.Restarts = append(r.Restarts, rs.memoryRestart)
	}
	r.LoadAfter = loadavg()
	return r, nil
}

// restartFigures is a memoryRestart plus its heap profile's top and the
// heap near its peak.
type restartFigures struct {
	memoryRestart
	heapTop string
	peak    peakHeap
}

// restartAtRest starts a connector over the synced world, waits until its
// first pass is done and measures it (the heap's top only when top).
func (b *bench) restartAtRest(ctx context.Context, w *world, o *Options, n int, name string, top bool) (restartFigures, error) {
	var f restartFigures
	f.GOGC = o.GoGC
	conn, err := startConnector(b.bin, w, o, 10*time.Hour, b.logPath(name))
	if err != nil {
		return f, err
	}
	defer conn.stop()
	var peak *peakWatch
	if top {
		peak = b.watchPeak(ctx, conn, name)
	}
	if err := waitQuiet(ctx, conn, float64(n), syncTimeout(n)); err != nil {
		return f, err
	}
	f.Seconds = time.Since(conn.started).Seconds()
	if peak != nil {
		f.peak = peak.finish()
	}
	if f.Proc, err = readProcStats(conn.pid()); err != nil {
		return f, err
	}
	f.RSS = readRSSParts(conn.pid())
	f.Load = loadavg()
	if memoryOpts.Settle > 0 {
		select {
		case <-ctx.Done():
			return f, ctx.Err()
		case <-time.After(memoryOpts.Settle):
		}
		f.Settled = readRSSParts(conn.pid())
		if p, err := readProcStats(conn.pid()); err == nil {
			f.SettledCPU = p.CPU.Seconds()
		}
	}
	f.Mem, f.heapTop = b.liveHeap(ctx, conn, name)
	f.Heap = f.Mem.Alloc
	if !top {
		f.heapTop = ""
	}
	return f, nil
}

// peakHeap is a heap profile taken while the resident set climbed to its
// peak, without a forced collection: the in-use figures are what the last
// collection found live, the runtime's accounts are those of that moment
// (garbage not yet collected included).
type peakHeap struct {
	// RSS is the resident set when the profile was asked for.
	RSS int64    `json:"rssBytes"`
	Mem memStats `json:"mem"`
	Top string   `json:"top"`
}

// peakWatch follows a connector's resident set and profiles its heap each
// time it climbs another peakStep past the last profile, keeping the last.
type peakWatch struct {
	stop chan struct{}
	done chan peakHeap
	once gosync.Once
	last peakHeap
}

const peakStep = 8 << 20

func (b *bench) watchPeak(ctx context.Context, conn *connector, name string) *peakWatch {
	w := &peakWatch{stop: make(chan struct{}), done: make(chan peakHeap, 1)}
	p := &profiler{addr: conn.pprofAddr, dir: filepath.Join(b.o.Out, "profiles")}
	file := filepath.Join(p.dir, name+"-peak-heap.pprof")
	go func() {
		var got peakHeap
		defer func() { w.done <- got }()
		if err := os.MkdirAll(p.dir, 0o755); err != nil {
			return
		}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-w.stop:
				if got.RSS > 0 {
					got.Top = pprofTop("-sample_index=inuse_space", file)
				}
				return
			case <-tick.C:
			}
			status, err := procStatus(conn.pid())
			if err != nil || status["VmRSS"] < got.RSS+peakStep {
				continue
			}
			rss := status["VmRSS"]
			if err := p.fetch(ctx, "/debug/pprof/heap", file+".tmp"); err != nil {
				continue // not serving yet
			}
			if err := os.Rename(file+".tmp", file); err != nil {
				continue
			}
			got = peakHeap{RSS: rss}
			if err := p.fetch(ctx, "/debug/pprof/heap?debug=1", file+".txt"); err == nil {
				if text, err := os.ReadFile(file + ".txt"); err == nil {
					got.Mem = parseMemStats(string(text))
				}
			}
		}
	}()
	return w
}

// finish stops the watch and returns the last profile's figures (again,
// when called again).
func (w *peakWatch) finish() peakHeap {
	w.once.Do(func() {
		close(w.stop)
		w.last = <-w.done
	})
	return w.last
}

// rssParts splits the resident set as /proc/<pid>/status does: anonymous
// memory (the heap, stacks, the runtime's own) and file-backed pages (the
// binary's text and read-only data that were touched).
type rssParts struct {
	Anon int64 `json:"anonBytes"`
	File int64 `json:"fileBytes"`
}

// readRSSParts reads RssAnon and RssFile of /proc/<pid>/status (zero when
// unreadable: the report shows them as such).
func readRSSParts(pid int) rssParts {
	status, _ := procStatus(pid)
	return rssParts{Anon: status["RssAnon"], File: status["RssFile"]}
}

// liveHeap takes a heap profile after a forced collection and returns the
// runtime's accounts of its memory right after it and the profile's top.
func (b *bench) liveHeap(ctx context.Context, conn *connector, name string) (memStats, string) {
	p := &profiler{addr: conn.pprofAddr, dir: filepath.Join(b.o.Out, "profiles")}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return memStats{}, err.Error()
	}
	file := filepath.Join(p.dir, name+"-heap.pprof")
	if err := p.fetch(ctx, "/debug/pprof/heap?gc=1", file); err != nil {
		return memStats{}, fmt.Sprintf("heap profile: %v", err)
	}
	return readMemStats(ctx, p, file+".txt"), pprofTop("-sample_index=inuse_space", file)
}

// memStats is what the runtime says of its memory (runtime.MemStats) right
// after a forced collection: the live heap (Alloc), the spans holding it
// (Inuse: Alloc plus the free room in spans that hold live objects), free
// spans still resident (Idle - Released) and returned to the system
// (Released), and goroutine stacks (Stack).
type memStats struct {
	Alloc    int64 `json:"heapAlloc"`
	Inuse    int64 `json:"heapInuse"`
	Idle     int64 `json:"heapIdle"`
	Released int64 `json:"heapReleased"`
	Stack    int64 `json:"stackInuse"`
	Sys      int64 `json:"sys"`
	NextGC   int64 `json:"nextGC"`
}

// retained is the free heap the runtime keeps resident.
func (m memStats) retained() int64 { return m.Idle - m.Released }

// readMemStats reads the runtime.MemStats lines of the text form of a heap
// profile taken after a forced collection (zero when unreadable).
func readMemStats(ctx context.Context, p *profiler, file string) memStats {
	if err := p.fetch(ctx, "/debug/pprof/heap?gc=1&debug=1", file); err != nil {
		return memStats{}
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return memStats{}
	}
	return parseMemStats(string(raw))
}

func parseMemStats(text string) memStats {
	var m memStats
	fields := map[string]*int64{"HeapAlloc": &m.Alloc, "HeapInuse": &m.Inuse, "HeapIdle": &m.Idle, "HeapReleased": &m.Released, "Sys": &m.Sys, "Stack": &m.Stack, "NextGC": &m.NextGC}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "# "), " = ")
		if dst, known := fields[k]; known && ok && strings.HasPrefix(line, "# ") {
			v, _, _ = strings.Cut(v, " ") // "Stack = inuse / sys"
			*dst, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return m
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
	p("## Memory at scale, with and without the chart's runtime settings")
	p("")
	p("Each row is a world of its own: %d claims created while the connector is down, a cold start, then a connection Secret per claim written in the control plane (playing Crossplane) and copied down; peak RSS (VmHWM), CPU (user + system) and the live heap (after a forced collection) then. Then a second connector over the synced world; its figures once its first pass is done (nothing queued for 5 s). GOMEMLIMIT and GOGC as the chart's deployment sets them (GOMEMLIMIT: the container's limits.memory of values.yaml, in bytes; GOGC: goGC), or none. RSS at rest is split into anonymous memory and the binary's file-backed pages (RssAnon, RssFile). Connector built as %s%s.%s", res.Runs[0].Claims, buildName(res.Build), sourceName(res.Source), secretSize(res.SecretBytes))
	p("")
	p("| GOMEMLIMIT | GOGC | claims | in sync after | CPU | per claim | peak RSS | per claim | live heap | per claim | restart: quiet after | CPU | peak RSS | RSS at rest | per claim | anon + file | live heap | load before → after | goal (≤ %.0f KiB a claim) |", goalKiBPerClaim)
	p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|")
	for _, x := range res.Runs {
		p("| %s | %s | %d | %.1f s | %.1f s | %.2f ms | %.0f MiB | %.1f KiB | %.0f MiB | %.1f KiB | %.1f s | %.1f s | %.0f MiB | %.0f MiB | %.1f KiB | %.0f + %.0f MiB | %.0f MiB | %s → %s | %s |",
			limitName(x.GoMemLimit), gogcName(x.GOGC), x.Claims, x.SyncSeconds, x.Sync.CPU.Seconds(), msPerClaim(x.Sync.CPU, x.Claims),
			mib(x.Sync.PeakRSS), kibPerClaim(x.Sync.PeakRSS, x.Claims), mib(x.HeapBytes), kibPerClaim(x.HeapBytes, x.Claims),
			x.RestartSeconds, x.Restart.CPU.Seconds(), mib(x.Restart.PeakRSS), mib(x.Restart.RSS), kibPerClaim(x.Restart.RSS, x.Claims),
			mib(x.RestartRSS.Anon), mib(x.RestartRSS.File), mib(x.RestartHeap), x.LoadBefore, x.LoadAfter,
			verdict(kibPerClaim(max(x.Sync.PeakRSS, x.Restart.PeakRSS), x.Claims) <= goalKiBPerClaim))
	}
	p("")
	for _, x := range res.Runs {
		if len(x.Restarts) == 0 {
			continue
		}
		p("### Further restarts at rest, GOMEMLIMIT %s, one after the other in the same world", limitName(x.GoMemLimit))
		p("")
		p("| GOGC | quiet after | CPU | per claim | peak RSS | RSS at rest | per claim | anon + file | settled: anon + file | per claim | live heap | load |")
		p("|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---|")
		p("| %s (the restart above) | %.1f s | %.1f s | %.2f ms | %.0f MiB | %.0f MiB | %.1f KiB | %.0f + %.0f MiB | %.0f + %.0f MiB | %.1f KiB | %.0f MiB | %s |", gogcName(x.GOGC),
			x.RestartSeconds, x.Restart.CPU.Seconds(), msPerClaim(x.Restart.CPU, x.Claims), mib(x.Restart.PeakRSS), mib(x.Restart.RSS),
			kibPerClaim(x.Restart.RSS, x.Claims), mib(x.RestartRSS.Anon), mib(x.RestartRSS.File),
			mib(x.RestartSettled.Anon), mib(x.RestartSettled.File), kibPerClaim(x.RestartSettled.Anon+x.RestartSettled.File, x.Claims), mib(x.RestartHeap), x.RestartLoad)
		for _, y := range x.Restarts {
			p("| %s | %.1f s | %.1f s | %.2f ms | %.0f MiB | %.0f MiB | %.1f KiB | %.0f + %.0f MiB | %.0f + %.0f MiB | %.1f KiB | %.0f MiB | %s |", gogcName(y.GOGC),
				y.Seconds, y.Proc.CPU.Seconds(), msPerClaim(y.Proc.CPU, x.Claims), mib(y.Proc.PeakRSS), mib(y.Proc.RSS),
				kibPerClaim(y.Proc.RSS, x.Claims), mib(y.RSS.Anon), mib(y.RSS.File),
				mib(y.Settled.Anon), mib(y.Settled.File), kibPerClaim(y.Settled.Anon+y.Settled.File, x.Claims), mib(y.Heap), y.Load)
		}
		if memoryOpts.Settle > 0 || x.RestartSettled.Anon > 0 {
			p("")
			p("Settled: RSS again after a further wait at rest (--memory-settle), once the runtime's scavenger has returned freed pages to the system.")
		}
		p("")
	}
	memStatsTable(p, res)
	for _, x := range res.Runs {
		lim := fmt.Sprintf("GOMEMLIMIT %s, GOGC %s", limitName(x.GoMemLimit), gogcName(x.GOGC))
		for _, at := range []struct {
			when string
			peak peakHeap
		}{{"the initial sync's", x.SyncPeak}, {"the restart's", x.RestartPeak}} {
			pk := at.peak
			if pk.RSS == 0 {
				continue
			}
			p("### Heap near %s peak, %s (inuse_space, no forced collection)", at.when, lim)
			p("")
			p("Profiled as RSS reached %.0f MiB (the last of profiles taken each %d MiB it climbed): the runtime then held %.0f MiB of heap objects (live and not yet collected) in %.0f MiB of spans, %.0f MiB of free spans resident, %.0f MiB returned; next collection at %.0f MiB. The in-use figures below are what the last collection before it found live.",
				mib(pk.RSS), peakStep>>20, mib(pk.Mem.Alloc), mib(pk.Mem.Inuse), mib(pk.Mem.retained()), mib(pk.Mem.Released), mib(pk.Mem.NextGC))
			p("")
			p("```")
			p("%s", pk.Top)
			p("```")
			p("")
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

// memStatsTable shows where the anonymous memory goes by the runtime's own
// accounts, read right after the forced collection of each heap profile.
func memStatsTable(p printer, res memoryResult) {
	if res.Runs[0].Heap.Inuse == 0 {
		return // a report of a run before these were read
	}
	p("### The runtime's memory right after a forced collection")
	p("")
	p("runtime.MemStats, from the heap profiles: the live heap; the rest of the spans that hold it (room the allocator cannot give back while one object in a span lives); free spans the runtime keeps resident; free spans returned to the system; goroutine stacks; the heap goal of the next collection; all the runtime has mapped.")
	p("")
	p("| GOMEMLIMIT | GOGC | when | live heap | rest of its spans | free, kept | free, returned | stacks | next GC at | runtime total |")
	p("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
	row := func(x memoryRun, when string, m memStats) {
		if m.Inuse == 0 {
			return
		}
		p("| %s | %s | %s | %.0f MiB | %.0f MiB | %.0f MiB | %.0f MiB | %.1f MiB | %.0f MiB | %.0f MiB |", limitName(x.GoMemLimit), gogcName(x.GOGC), when,
			mib(m.Alloc), mib(m.Inuse-m.Alloc), mib(m.retained()), mib(m.Released), mib(m.Stack), mib(m.NextGC), mib(m.Sys))
	}
	for _, x := range res.Runs {
		row(x, "after the sync", x.Heap)
		row(x, "restart, at rest", x.RestartMem)
		for _, y := range x.Restarts {
			row(x, "restart at GOGC "+gogcName(y.GOGC), y.Mem)
		}
	}
	p("")
}

func limitName(b int64) string {
	if b <= 0 {
		return "none"
	}
	return fmt.Sprintf("%.0f MiB", mib(b))
}

func gogcName(g string) string {
	if g == "" || g == "off" {
		return "none (100)"
	}
	return g
}

func buildName(b string) string {
	if b == "go" {
		return "a plain go build (make build)"
	}
	return "the image builds it (-tags=runonly, CGO_ENABLED=0, -trimpath, -ldflags=-s -w)"
}

func sourceName(s string) string {
	if s == "" {
		return ""
	}
	return ", from the source tree " + s
}

func msPerClaim(d time.Duration, n int) float64 { return float64(d.Milliseconds()) / float64(n) }
