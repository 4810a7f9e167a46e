package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// The defaults part (issue 15 item 2, and the kube-bind comparison of
// /work/shared/notes/peer-figures.md): the initial sync at the connector's
// default settings against the bare API server with no client-side limit,
// a sweep of --kube-api-qps/--kube-api-burst/--workers for the connector
// alone with what each costs the control plane's API server (its CPU from
// /proc, its request rate from apiserver_request_total), and a burst of
// 300 claims of one kind until all are visible in the control plane.

// defaultsOpts are the part's own flags: which of its runs to make, at
// what size (a sweep of six points at 3,000 claims is long on two cores).
var defaultsOpts = struct {
	Sizes                       intList
	Cold, Sweep, Burst, Recover bool
}{Cold: true, Sweep: true, Burst: true, Recover: true}

func init() {
	partFlags = append(partFlags, func(fs *flag.FlagSet) {
		fs.Var(&defaultsOpts.Sizes, "defaults-sizes", "defaults part: claims of the sweep's points and of the last run at the defaults, comma-separated (default: 3000,10000; 1000,3000 at --scale=small).")
		fs.BoolVar(&defaultsOpts.Cold, "defaults-cold", defaultsOpts.Cold, "defaults part: run the cold starts (false: only the burst and the recovery).")
		fs.BoolVar(&defaultsOpts.Sweep, "defaults-sweep", defaultsOpts.Sweep, "defaults part: run the sweep of --kube-api-qps/--kube-api-burst/--workers (false: only the two runs at the defaults, at both sizes).")
		fs.BoolVar(&defaultsOpts.Burst, "defaults-burst", defaultsOpts.Burst, "defaults part: run the burst of 300 (the kube-bind comparison).")
		fs.BoolVar(&defaultsOpts.Recover, "defaults-recovery", defaultsOpts.Recover, "defaults part: run the recovery figure at the old and the new defaults.")
	})
	register(registeredPart{name: "defaults", order: 10, run: runDefaults, section: defaultsSection})
}

// unthrottledWorkers is how many requests the unthrottled baseline runs at
// a time: more than two cores can serve, so that the API server is the
// limit, not the client.
const unthrottledWorkers = 64

// burstSize is the burst of the kube-bind comparison.
const burstSize = 300

// defaultsResult is what the part measured.
type defaultsResult struct {
	// DefaultQPS and DefaultBurst are the connector's defaults, read from
	// its --help.
	DefaultQPS     float64         `json:"defaultQPS"`
	DefaultBurst   int             `json:"defaultBurst"`
	DefaultWorkers int             `json:"defaultWorkers"`
	Points         []defaultsPoint `json:"points"`
	Bursts         []burstPoint    `json:"bursts"`
	// Recoveries is the recovery figure (recovery.go) at the old and the
	// new defaults, each with its baseline held to the same QPS and burst.
	Recoveries []settingRecovery `json:"recoveries"`
	LoadBefore string            `json:"loadBefore"`
	LoadAfter  string            `json:"loadAfter"`
}

// defaultsPoint is one cold start of Claims claims by a connector with
// Args, in a fresh world, with the baselines of the same world.
type defaultsPoint struct {
	Label  string   `json:"label"`
	Args   []string `json:"args"`
	Claims int      `json:"claims"`
	// Seconds is from the connector's start until the last remote claim
	// exists; SyncedSeconds until the last local claim is in sync.
	Seconds       float64 `json:"seconds"`
	SyncedSeconds float64 `json:"syncedSeconds"`
	// BaselineSeconds: the bare client, no client-side limit, creating the
	// same number of remote objects, until the last is seen.
	BaselineSeconds float64 `json:"baselineSeconds"`
	// EqualQPSSeconds: the bare client held to the point's QPS and burst
	// (0: not measured).
	EqualQPSSeconds float64 `json:"equalQPSSeconds,omitempty"`
	// The control plane's kube-apiserver during the baseline and during the
	// connector's sync (until every local claim is in sync): CPU seconds
	// and requests served.
	BaselineCPCPU      float64 `json:"baselineCPCPU"`
	BaselineCPRequests float64 `json:"baselineCPRequests"`
	CPCPU              float64 `json:"cpCPU"`
	CPRequests         float64 `json:"cpRequests"`
	AppCPU             float64 `json:"appCPU"`
	ConnectorCPU       float64 `json:"connectorCPU"`
	// Passes is how many reconciles the claim syncers made until every
	// local claim was in sync (controller_runtime_reconcile_total).
	Passes float64 `json:"passes"`
	// PassMs is the connector's mean reconcile of a claim and QueueMs the
	// mean wait of a claim in its work queue (controller-runtime's
	// reconcile_time and workqueue_queue_duration): a long wait with short
	// passes says the workers are the limit, long passes that the round
	// trips are.
	PassMs  float64 `json:"passMs"`
	QueueMs float64 `json:"queueMs"`
	Load    string  `json:"load"`
}

// burstPoint is the kube-bind figure: a burst of burstSize claims of one
// kind, from the first create until all are in the control plane, against
// creating them there directly (no client-side limit); one sample each,
// interleaved, per repeat.
type burstPoint struct {
	Label           string    `json:"label"`
	Args            []string  `json:"args"`
	Seconds         []float64 `json:"seconds"`
	BaselineSeconds []float64 `json:"baselineSeconds"`
}

// settingRecovery is one recovery run at a setting.
type settingRecovery struct {
	Label    string         `json:"label"`
	Args     []string       `json:"args"`
	QPS      float32        `json:"qps"`
	Burst    int            `json:"burst"`
	Recovery recoveryResult `json:"recovery"`
}

// sweep is the connector settings of the sweep: label and flags.
var sweep = []struct {
	label string
	args  []string
}{
	{"QPS 100, burst 200, 8 workers (the old defaults)", []string{"--kube-api-qps=100", "--kube-api-burst=200", "--workers=8"}},
	{"QPS 500, burst 1000, 8 workers", []string{"--kube-api-qps=500", "--kube-api-burst=1000", "--workers=8"}},
	{"QPS 500, burst 1000, 16 workers", []string{"--kube-api-qps=500", "--kube-api-burst=1000", "--workers=16"}},
	{"QPS 500, burst 1000, 32 workers", []string{"--kube-api-qps=500", "--kube-api-burst=1000", "--workers=32"}},
	{"QPS 1000, burst 2000, 32 workers", []string{"--kube-api-qps=1000", "--kube-api-burst=2000", "--workers=32"}},
}

// defaultsSizes are the claim counts of the sweep and of the run at the
// defaults, by scale.
func defaultsSizes(scale string) (sweepN, defaultsN int) {
	if s := defaultsOpts.Sizes; len(s) > 0 {
		return s[0], s[len(s)-1]
	}
	if scale == "small" {
		return 1000, 3000
	}
	return 3000, 10000
}

func runDefaults(ctx context.Context, b *bench) error {
	res := &defaultsResult{LoadBefore: loadavg()}
	var err error
	if res.DefaultQPS, res.DefaultBurst, res.DefaultWorkers, err = connectorDefaults(b.bin); err != nil {
		return err
	}
	save := func() error { res.LoadAfter = loadavg(); return b.save("defaults", res) }
	sweepN, defaultsN := defaultsSizes(b.o.Scale)
	defaultsLabel := fmt.Sprintf("defaults (QPS %g, burst %d, %d workers)", res.DefaultQPS, res.DefaultBurst, res.DefaultWorkers)
	// The defaults first and last of the sweep's size, so that the sweep's
	// points sit between two measurements of the same setting.
	points := []struct {
		label    string
		args     []string
		n        int
		equalQPS bool
	}{{defaultsLabel, nil, sweepN, false}}
	for _, s := range sweep {
		if !defaultsOpts.Sweep {
			break
		}
		points = append(points, struct {
			label    string
			args     []string
			n        int
			equalQPS bool
		}{s.label, s.args, sweepN, false})
	}
	points = append(points, struct {
		label    string
		args     []string
		n        int
		equalQPS bool
	}{defaultsLabel, nil, defaultsN, true})
	for _, p := range points {
		if !defaultsOpts.Cold {
			break
		}
		var qps float32
		burst := 0
		if p.equalQPS {
			qps, burst = float32(res.DefaultQPS), res.DefaultBurst
		}
		pt, err := b.defaultsColdStart(ctx, p.label, p.args, p.n, qps, burst)
		if err != nil {
			return fmt.Errorf("%s, %d claims: %w", p.label, p.n, err)
		}
		res.Points = append(res.Points, pt)
		if err := save(); err != nil {
			return err
		}
	}
	for _, s := range []struct {
		label string
		args  []string
	}{{defaultsLabel, nil}, {"QPS 100, burst 200, 8 workers (the old defaults)", []string{"--kube-api-qps=100", "--kube-api-burst=200", "--workers=8"}}} {
		if !defaultsOpts.Burst {
			break
		}
		bp, err := b.burst(ctx, s.label, s.args, 3)
		if err != nil {
			return fmt.Errorf("burst, %s: %w", s.label, err)
		}
		res.Bursts = append(res.Bursts, bp)
		if err := save(); err != nil {
			return err
		}
	}
	old := sweep[0]
	for _, s := range []struct {
		label string
		args  []string
		qps   float32
		burst int
	}{{old.label, old.args, 100, 200}, {defaultsLabel, nil, float32(res.DefaultQPS), res.DefaultBurst}} {
		if !defaultsOpts.Recover {
			break
		}
		rec, err := b.recoveryAt(ctx, s.label, s.args, s.qps, s.burst)
		if err != nil {
			return fmt.Errorf("recovery, %s: %w", s.label, err)
		}
		res.Recoveries = append(res.Recoveries, settingRecovery{Label: s.label, Args: s.args, QPS: s.qps, Burst: s.burst, Recovery: rec})
		if err := save(); err != nil {
			return err
		}
	}
	return save()
}

// recoveryAt runs the recovery figure (recovery.go) over claims synced by
// a connector with args, the baseline held to qps and burst.
func (b *bench) recoveryAt(ctx context.Context, label string, args []string, qps float32, burst int) (recoveryResult, error) {
	w, tr, err := b.throughputWorld(ctx)
	if err != nil {
		return recoveryResult{}, err
	}
	defer func() { tr.stop(); _ = w.stop() }()
	name := "recovery-" + slug(label)
	conn, err := startConnectorArgs(b.bin, w, b.o, append(append([]string{"--resync-period=10h"}, args...), b.o.ConnectorArgs...), b.logPath(name))
	if err != nil {
		return recoveryResult{}, err
	}
	defer conn.stop()
	if err := waitCRDs(ctx, w.app, 2*time.Minute); err != nil {
		return recoveryResult{}, fmt.Errorf("connector did not mirror the claim APIs (log %s): %w", b.logPath(name), err)
	}
	if err := tr.watch(ctx, w.appDyn, "", claimGVRs()...); err != nil {
		return recoveryResult{}, err
	}
	n := b.o.Changes
	claims := spread("claim", n, namespaces("bench", localNamespaces))
	synced := tr.count(resources(), n, func(u *unstructured.Unstructured) bool { return u.GetNamespace() != connectorNamespace && inSync(u) })
	if err := createClaims(ctx, w.appDyn, claims, b.o.Workers); err != nil {
		return recoveryResult{}, err
	}
	if _, err := synced.wait(ctx, syncTimeout(n), conn.alive); err != nil {
		return recoveryResult{}, fmt.Errorf("local claims in sync: %w", err)
	}
	// recovery reads the baseline's limit from the options and stores its
	// result in the run's results; both are put back.
	savedQPS, savedBurst, savedRec := b.o.QPS, b.o.Burst, b.results.Recovery
	defer func() { b.o.QPS, b.o.Burst, b.results.Recovery = savedQPS, savedBurst, savedRec }()
	b.o.QPS, b.o.Burst = qps, burst
	if err := b.recovery(ctx, w, conn, claims); err != nil {
		return recoveryResult{}, err
	}
	return *b.results.Recovery, nil
}

// defaultsColdStart measures one point in a fresh world: the unthrottled
// baseline (and, when qps > 0, the baseline held to qps and burst), then a
// connector started with args over n claims that exist before it starts.
func (b *bench) defaultsColdStart(ctx context.Context, label string, args []string, n int, qps float32, burst int) (defaultsPoint, error) {
	pt := defaultsPoint{Label: label, Args: args, Claims: n}
	w, tr, err := b.throughputWorld(ctx)
	if err != nil {
		return pt, err
	}
	defer func() { tr.stop(); _ = w.stop() }()
	first, err := b.mirror(ctx, w, tr, fmt.Sprintf("defaults-%d-mirror", n))
	if err != nil {
		return pt, err
	}
	first.stop()
	cp, err := newAPIServerProbe(w.cp)
	if err != nil {
		return pt, err
	}
	app, err := newAPIServerProbe(w.app)
	if err != nil {
		return pt, err
	}

	before := cp.sample(ctx)
	base, err := directCreate(ctx, w, tr, unthrottled(w.cp.Config), "base", spread("base", n, []string{baselineNamespace}), unthrottledWorkers)
	if err != nil {
		return pt, fmt.Errorf("unthrottled baseline: %w", err)
	}
	after := cp.sample(ctx)
	pt.BaselineSeconds = base.Seconds()
	pt.BaselineCPCPU, pt.BaselineCPRequests = after.cpu-before.cpu, after.requests-before.requests
	b.logf("defaults %d: unthrottled baseline %.1f s (%.0f claims/s)", n, pt.BaselineSeconds, float64(n)/pt.BaselineSeconds)
	if qps > 0 {
		eq, err := directCreate(ctx, w, tr, limited(w.cp.Config, qps, burst, "bench-baseline"), "eq", spread("eq", n, []string{baselineNamespace}), b.o.Workers)
		if err != nil {
			return pt, fmt.Errorf("equal-QPS baseline: %w", err)
		}
		pt.EqualQPSSeconds = eq.Seconds()
		b.logf("defaults %d: baseline at QPS %g %.1f s", n, qps, pt.EqualQPSSeconds)
	}

	claims := spread("claim", n, namespaces("bench", localNamespaces))
	if err := createClaims(ctx, w.appDyn, claims, b.o.Workers); err != nil {
		return pt, err
	}
	remote := tr.count(resources(), n, inNamespace(connectorNamespace, nil))
	synced := tr.count(resources(), n, func(u *unstructured.Unstructured) bool { return u.GetNamespace() != connectorNamespace && inSync(u) })
	cpBefore, appBefore := cp.sample(ctx), app.sample(ctx)
	conn, err := startConnectorArgs(b.bin, w, b.o, append(append([]string{"--resync-period=10h"}, args...), b.o.ConnectorArgs...), b.logPath(fmt.Sprintf("defaults-%d-%s", n, slug(label))))
	if err != nil {
		return pt, err
	}
	defer conn.stop()
	last, err := remote.wait(ctx, syncTimeout(n), conn.alive)
	if err != nil {
		return pt, fmt.Errorf("remote claims: %w", err)
	}
	pt.Seconds = last.Sub(conn.started).Seconds()
	last, err = synced.wait(ctx, syncTimeout(n), conn.alive)
	if err != nil {
		return pt, fmt.Errorf("local claims in sync: %w", err)
	}
	pt.SyncedSeconds = last.Sub(conn.started).Seconds()
	cpAfter, appAfter := cp.sample(ctx), app.sample(ctx)
	pt.CPCPU, pt.CPRequests = cpAfter.cpu-cpBefore.cpu, cpAfter.requests-cpBefore.requests
	pt.AppCPU = appAfter.cpu - appBefore.cpu
	if ps, err := readProcStats(conn.pid()); err == nil {
		pt.ConnectorCPU = ps.CPU.Seconds()
	}
	pt.Passes, _ = conn.metricSum(ctx, "controller_runtime_reconcile_total", claimControllers)
	pt.PassMs = meanMs(ctx, conn, "controller_runtime_reconcile_time_seconds", `controller="claim-`)
	pt.QueueMs = meanMs(ctx, conn, "workqueue_queue_duration_seconds", `name="claim-`)
	pt.Load = loadavg()
	b.logf("defaults %d, %s: %.1f s to remote (%.0f claims/s, %.2f× unthrottled), in sync after %.1f s; control plane %.0f req/s, %.0f %% CPU; pass %.0f ms, queue %.0f ms; %.2f passes a claim; CPU a claim: connector %.2f ms, control plane %.2f ms, app %.2f ms (baseline %.2f ms)",
		n, label, pt.Seconds, float64(n)/pt.Seconds, pt.BaselineSeconds/pt.Seconds, pt.SyncedSeconds,
		pt.CPRequests/pt.SyncedSeconds, 100*pt.CPCPU/pt.SyncedSeconds, pt.PassMs, pt.QueueMs, pt.Passes/float64(n),
		perClaimMs(pt.ConnectorCPU, n), perClaimMs(pt.CPCPU, n), perClaimMs(pt.AppCPU, n), perClaimMs(pt.BaselineCPCPU, n))
	return pt, nil
}

// perClaimMs is CPU seconds spread over n claims, in ms.
func perClaimMs(cpu float64, n int) float64 { return 1000 * cpu / float64(n) }

// meanMs is a histogram's mean over the series that match, in ms.
func meanMs(ctx context.Context, conn *connector, name, match string) float64 {
	sum, err := conn.metricSum(ctx, name+"_sum", match)
	if err != nil {
		return 0
	}
	n, err := conn.metricSum(ctx, name+"_count", match)
	if err != nil || n == 0 {
		return 0
	}
	return 1000 * sum / n
}

// burst runs a connector with args and, repeats times, interleaved: the
// baseline creating burstSize objects of one kind directly in the control
// plane, then burstSize claims of that kind created in the app cluster,
// each timed from its first create until all are seen there.
func (b *bench) burst(ctx context.Context, label string, args []string, repeats int) (burstPoint, error) {
	bp := burstPoint{Label: label, Args: args}
	w, tr, err := b.throughputWorld(ctx)
	if err != nil {
		return bp, err
	}
	defer func() { tr.stop(); _ = w.stop() }()
	name := "burst-" + slug(label)
	conn, err := startConnectorArgs(b.bin, w, b.o, append(append([]string{"--resync-period=10h"}, args...), b.o.ConnectorArgs...), b.logPath(name))
	if err != nil {
		return bp, err
	}
	defer conn.stop()
	if err := waitCRDs(ctx, w.app, 2*time.Minute); err != nil {
		return bp, fmt.Errorf("connector did not mirror the claim APIs (log %s): %w", b.logPath(name), err)
	}
	if err := tr.watch(ctx, w.appDyn, "", claimGVRs()...); err != nil {
		return bp, err
	}
	if err := warmUp(ctx, w, tr); err != nil {
		return bp, fmt.Errorf("warm up: %w", err)
	}
	one := func(prefix, ns string) []claimRef {
		out := make([]claimRef, burstSize)
		for i := range out {
			out[i] = claimRef{kind: kinds[0], namespace: ns, name: fmt.Sprintf("%s-%05d", prefix, i)}
		}
		return out
	}
	for r := range repeats {
		prefix := fmt.Sprintf("b%d", r)
		base, err := directCreate(ctx, w, tr, unthrottled(w.cp.Config), prefix, one(prefix, baselineNamespace), b.o.Workers)
		if err != nil {
			return bp, fmt.Errorf("baseline: %w", err)
		}
		ns := fmt.Sprintf("bench-%d", r)
		claims := one(prefix, ns)
		remote := tr.count([]string{kinds[0].Plural}, burstSize, inNamespace(connectorNamespace, nil))
		start := time.Now()
		if err := createClaims(ctx, w.appDyn, claims, b.o.Workers); err != nil {
			return bp, err
		}
		last, err := remote.wait(ctx, syncTimeout(burstSize), conn.alive)
		if err != nil {
			return bp, fmt.Errorf("burst: %w", err)
		}
		bp.Seconds = append(bp.Seconds, last.Sub(start).Seconds())
		bp.BaselineSeconds = append(bp.BaselineSeconds, base.Seconds())
		b.logf("burst %d, %s: %.2f s, direct create %.2f s", burstSize, label, last.Sub(start).Seconds(), base.Seconds())
	}
	return bp, nil
}

// directCreate creates the objects in the control plane's baseline
// namespace with the client of cfg, workers at a time, and returns the
// time from the first create until the last was seen.
func directCreate(ctx context.Context, w *world, tr *tracker, cfg *rest.Config, prefix string, objs []claimRef, workers int) (time.Duration, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return 0, err
	}
	seen := tr.count(resources(), len(objs), inNamespace(baselineNamespace, func(u *unstructured.Unstructured) bool {
		return strings.HasPrefix(u.GetName(), prefix+"-")
	}))
	start := time.Now()
	err = parallel(ctx, len(objs), workers, func(ctx context.Context, i int) error {
		_, err := dyn.Resource(objs[i].kind.GVR()).Namespace(baselineNamespace).Create(ctx, newClaim(objs[i], 1), createOpts)
		return err
	})
	if err != nil {
		return 0, err
	}
	last, err := seen.wait(ctx, syncTimeout(len(objs)), nil)
	return last.Sub(start), err
}

// unthrottled copies cfg with no client-side rate limit at all.
func unthrottled(cfg *rest.Config) *rest.Config {
	c := limited(cfg, -1, 0, "bench-baseline-unthrottled")
	return c
}

// apiServerProbe reads what a kube-apiserver of the world spent: its CPU
// from /proc/<pid>/stat and the requests it served from its own metrics.
type apiServerProbe struct {
	pid    int
	client rest.Interface
}

type apiServerSample struct{ cpu, requests float64 }

func newAPIServerProbe(e *harness.Env) (*apiServerProbe, error) {
	pid, err := apiServerPid(e.Dir)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(unlimited(e.Config))
	if err != nil {
		return nil, err
	}
	return &apiServerProbe{pid: pid, client: cs.Discovery().RESTClient()}, nil
}

// sample reads both; a failed read leaves its figure at 0.
func (p *apiServerProbe) sample(ctx context.Context) apiServerSample {
	var s apiServerSample
	if ps, err := readProcStats(p.pid); err == nil {
		s.cpu = ps.CPU.Seconds()
	}
	raw, err := p.client.Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return s
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(l, "apiserver_request_total{") {
			s.requests += value(l)
		}
	}
	return s
}

// apiServerPid finds the kube-apiserver of the environment in dir: its
// certificates are there (--cert-dir). Ports are no key: the machine's other
// network namespaces run API servers on the same port numbers.
func apiServerPid(dir string) (int, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		return 0, err
	}
	for _, d := range dirs {
		raw, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		args := strings.Split(string(raw), "\x00")
		if len(args) == 0 || !strings.Contains(filepath.Base(args[0]), "kube-apiserver") {
			continue
		}
		for _, a := range args {
			if strings.HasPrefix(a, "--cert-dir="+dir+string(filepath.Separator)) {
				return strconv.Atoi(filepath.Base(filepath.Dir(d)))
			}
		}
	}
	return 0, fmt.Errorf("no kube-apiserver with its --cert-dir in %s", dir)
}

var defaultFlag = regexp.MustCompile(`--(kube-api-qps|kube-api-burst|workers) \S+\s+[^\n]*\(default (\d+(?:\.\d+)?)\)`)

// connectorDefaults reads the connector's default QPS, burst and workers
// from its help, so that the report names what the binary ships.
func connectorDefaults(bin string) (qps float64, burst, workers int, err error) {
	out, err := exec.Command(bin, "run", "--help").CombinedOutput()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s run --help: %w\n%s", bin, err, out)
	}
	for _, m := range defaultFlag.FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		switch m[1] {
		case "kube-api-qps":
			qps = v
		case "kube-api-burst":
			burst = int(v)
		default:
			workers = int(v)
		}
	}
	if qps == 0 || burst == 0 || workers == 0 {
		return 0, 0, 0, fmt.Errorf("cannot read the defaults of --kube-api-qps, --kube-api-burst and --workers from %s run --help", bin)
	}
	return qps, burst, workers, nil
}

// slug makes a label usable in a file name.
func slug(s string) string {
	return strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// defaultsSection renders the part.
func defaultsSection(p printer, r *Results) {
	var res defaultsResult
	if !loadPart(r, "defaults", &res) {
		return
	}
	p("## Throughput at the defaults (issue 15 item 2)")
	p("")
	p("The connector's defaults: `--kube-api-qps=%g --kube-api-burst=%d`. Each row is a fresh world: first the bare client creates the same number of remote objects with **no client-side limit** (%d at a time: the machine's limit), then the connector starts over claims that exist before it (cold start). The control plane's kube-apiserver CPU (from /proc) and requests (`apiserver_request_total`) are over the connector's sync, until every local claim is in sync. Load average %s before, %s after.",
		res.DefaultQPS, res.DefaultBurst, unthrottledWorkers, res.LoadBefore, orDash(res.LoadAfter))
	p("")
	p("CPU a claim is each process's CPU seconds over the sync (the baseline's: the control plane's kube-apiserver over its creates) divided by the claims; passes are the claim syncers' reconciles until every claim was in sync, per claim.")
	p("")
	p("| connector | claims | connector | unthrottled baseline | ratio | baseline at equal QPS | in sync | control plane: req/s, CPU | baseline: req/s, CPU | app server CPU | connector CPU | CPU a claim: connector / control plane / app (baseline) | passes a claim | pass / queue wait | load |")
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, pt := range res.Points {
		eq := "—"
		if pt.EqualQPSSeconds > 0 {
			eq = fmt.Sprintf("%.0f claims/s (%.1f s; %s)", float64(pt.Claims)/pt.EqualQPSSeconds, pt.EqualQPSSeconds, ratio(pt.EqualQPSSeconds, pt.Seconds))
		}
		p("| %s | %d | %.0f claims/s (%.1f s) | %.0f claims/s (%.1f s) | %s | %s | %.1f s | %.0f req/s, %.0f %% | %.0f req/s, %.0f %% | %.0f %% | %.1f s | %.2f / %.2f / %.2f ms (%.2f ms) | %.2f | %.0f / %.0f ms | %s |",
			pt.Label, pt.Claims, float64(pt.Claims)/pt.Seconds, pt.Seconds, float64(pt.Claims)/pt.BaselineSeconds, pt.BaselineSeconds,
			ratio(pt.BaselineSeconds, pt.Seconds), eq, pt.SyncedSeconds,
			pt.CPRequests/pt.SyncedSeconds, 100*pt.CPCPU/pt.SyncedSeconds,
			pt.BaselineCPRequests/pt.BaselineSeconds, 100*pt.BaselineCPCPU/pt.BaselineSeconds,
			100*pt.AppCPU/pt.SyncedSeconds, pt.ConnectorCPU,
			perClaimMs(pt.ConnectorCPU, pt.Claims), perClaimMs(pt.CPCPU, pt.Claims), perClaimMs(pt.AppCPU, pt.Claims), perClaimMs(pt.BaselineCPCPU, pt.Claims),
			pt.Passes/float64(pt.Claims), pt.PassMs, pt.QueueMs, pt.Load)
	}
	p("")
	if len(res.Bursts) == 0 {
		return
	}
	p("### A burst of %d claims of one kind until all are in the control plane (the kube-bind comparison)", burstSize)
	p("")
	p("The connector runs; %d claims of one kind are created in the app cluster as fast as the bench can (%d at a time), timed from the first create until the last is seen in the control plane; interleaved with the baseline creating %d objects there directly (no client-side limit). kube-bind's konnector, measured on this machine class (peer-figures.md): 3.0–3.5 s at QPS 100, 58 s as shipped.", burstSize, 24, burstSize)
	p("")
	p("| connector | samples | median | direct create, median | connector ÷ direct | konnector at QPS 100 (3.0–3.5 s) ÷ connector |")
	p("|---|---:|---:|---:|---:|---:|")
	for _, bp := range res.Bursts {
		m, bm := median(bp.Seconds), median(bp.BaselineSeconds)
		p("| %s | %s | %.2f s | %.2f s | %s | %.1f–%.1f× |", bp.Label, joinSeconds(bp.Seconds), m, bm, ratio(m, bm), 3.0/m, 3.5/m)
	}
	p("")
	if len(res.Recoveries) == 0 {
		return
	}
	p("### Recovery at the old and the new defaults (issue 15 item 7)")
	p("")
	p("The recovery figure of the throughput part (%d changes while the control plane's kube-apiserver is away, timed from its first answer), once per setting, each against the bare client held to the same QPS and burst.", res.Recoveries[0].Recovery.Changes)
	p("")
	p("| connector | converged after reconnect | baseline | ratio | seen reachable after | 10 / 50 / 90 %% after | goal ≤ %g s |", goalRecoverySecond)
	p("|---|---:|---:|---:|---:|---:|---|")
	for _, sr := range res.Recoveries {
		rc := sr.Recovery
		p("| %s | %.1f s | %.1f s (QPS %g) | %s | %.1f s | %.1f / %.1f / %.1f s | %s |", sr.Label, rc.Seconds, rc.BaselineSeconds, sr.QPS,
			ratio(rc.Seconds, rc.BaselineSeconds), rc.ReachableSeconds, rc.Progress[0], rc.Progress[1], rc.Progress[2], verdict(rc.Seconds <= goalRecoverySecond))
	}
	p("")
}

func median(v []float64) float64 { return percentile(v, 50) }

func joinSeconds(v []float64) string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(out, " / ")
}
