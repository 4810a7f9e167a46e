package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// The scale part (issue 15 item 6): many claims over many kinds in one app
// cluster (scale_kinds.go), and many app clusters on one control plane
// (scale_clusters.go). Its size is set by the --scale-* flags; it is not
// in the small preset's time budget at its full size.

// scaleOptions are the part's flags.
type scaleOptions struct {
	// Kinds are the kind counts of the one-cluster runs; Claims is the
	// total number of claims of each, spread evenly over the kinds.
	Kinds  intList
	Claims int
	// Clusters are the numbers of app clusters measured, in growing order;
	// ClusterClaims the claims in each app cluster.
	Clusters      intList
	ClusterClaims int
	// Window is each measurement window (at rest, under churn, baseline
	// churn); ChurnRate the changes a second per app cluster under churn.
	Window    time.Duration
	ChurnRate float64
	// AppFlags are extra kube-apiserver flags of the app clusters of the
	// many-clusters run (key=value key=value), to save memory.
	AppFlags string
	// MinAvailable stops adding app clusters when the machine has less
	// memory available than this, in MiB.
	MinAvailable int
}

var scaleOpts = scaleOptions{
	Kinds: intList{1, 10, 100}, Claims: 50000,
	Clusters: intList{1, 5, 10, 20}, ClusterClaims: 200,
	Window: 30 * time.Second, ChurnRate: 1,
	AppFlags:     "watch-cache=false",
	MinAvailable: 3072,
}

func init() {
	partFlags = append(partFlags, func(fs *flag.FlagSet) {
		fs.Var(&scaleOpts.Kinds, "scale-kinds", "scale part: comma-separated kind counts of the one-app-cluster runs (empty: skip them).")
		fs.IntVar(&scaleOpts.Claims, "scale-claims", scaleOpts.Claims, "scale part: claims of each one-app-cluster run, spread over its kinds.")
		fs.Var(&scaleOpts.Clusters, "scale-clusters", "scale part: comma-separated app-cluster counts on one control plane, growing (empty: skip).")
		fs.IntVar(&scaleOpts.ClusterClaims, "scale-cluster-claims", scaleOpts.ClusterClaims, "scale part: claims in each app cluster of the many-clusters run.")
		fs.DurationVar(&scaleOpts.Window, "scale-window", scaleOpts.Window, "scale part: length of each measurement window (at rest, churn, baseline churn).")
		fs.Float64Var(&scaleOpts.ChurnRate, "scale-churn-rate", scaleOpts.ChurnRate, "scale part: claim changes a second per app cluster under churn (create, update, delete in turn).")
		fs.StringVar(&scaleOpts.AppFlags, "scale-app-flags", scaleOpts.AppFlags, "scale part: extra kube-apiserver flags of the many app clusters, space-separated key=value")
		fs.IntVar(&scaleOpts.MinAvailable, "scale-min-available-mib", scaleOpts.MinAvailable, "scale part: stop adding app clusters below this much available memory.")
	})
	register(registeredPart{name: "scale", order: 30, run: runScale, section: scaleSection})
}

// intList is a comma-separated list of positive integers flag.
type intList []int

func (l *intList) String() string {
	var s []string
	for _, n := range *l {
		s = append(s, strconv.Itoa(n))
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(v string) error {
	*l = nil
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return fmt.Errorf("%q is not a positive integer", f)
		}
		*l = append(*l, n)
	}
	return nil
}

// scaleResults is what the part stores in results.json.
type scaleResults struct {
	Kinds    []kindsResult   `json:"kinds,omitempty"`
	Clusters []clusterResult `json:"clusters,omitempty"`
	// IdleCP is the control plane of the many-clusters run before any app
	// cluster connected.
	IdleCP   *cpSample `json:"idleCP,omitempty"`
	AppFlags string    `json:"appFlags"`
	Window   string    `json:"window"`
	Churn    float64   `json:"churnPerClusterPerSecond"`
	Errors   []string  `json:"errors,omitempty"`
}

func runScale(ctx context.Context, b *bench) error {
	res := &scaleResults{AppFlags: scaleOpts.AppFlags, Window: scaleOpts.Window.String(), Churn: scaleOpts.ChurnRate}
	save := func() error {
		if err := b.save("scale", res); err != nil {
			return err
		}
		if err := plotScale(res, b.o.Out); err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		return b.write()
	}
	var errs []string
	for _, k := range scaleOpts.Kinds {
		r, err := b.scaleKinds(ctx, k, scaleOpts.Claims)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%d kinds: %v", k, err))
			b.logf("scale: %d kinds failed: %v", k, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		res.Kinds = append(res.Kinds, *r)
		if err := save(); err != nil {
			return err
		}
	}
	if len(scaleOpts.Clusters) > 0 && ctx.Err() == nil {
		if err := b.scaleClusters(ctx, res, save); err != nil {
			errs = append(errs, fmt.Sprintf("clusters: %v", err))
		}
	}
	res.Errors = errs
	if err := save(); err != nil {
		return err
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// serverPIDs finds the kube-apiserver and etcd processes of env by the
// directory their flags name (envtest passes env.Dir's subdirectories).
func serverPIDs(env *harness.Env) (apiserver, etcd int, err error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(raw, []byte(env.Dir+"/")) {
			continue
		}
		exe := string(raw[:max(0, bytes.IndexByte(raw, 0))])
		switch {
		case strings.Contains(filepath.Base(exe), "kube-apiserver"):
			apiserver = pid
		case strings.Contains(filepath.Base(exe), "etcd"):
			etcd = pid
		}
	}
	if apiserver == 0 || etcd == 0 {
		return 0, 0, fmt.Errorf("processes of %s not found (kube-apiserver %d, etcd %d)", env.Name, apiserver, etcd)
	}
	return apiserver, etcd, nil
}

// serverGauges are what an API server's metrics say of its load.
type serverGauges struct {
	// Watches is apiserver_longrunning_requests{verb="WATCH"}: watches open.
	Watches float64 `json:"watches"`
	// Rejected is apiserver_flowcontrol_rejected_requests_total: requests
	// API Priority and Fairness turned away, since the start.
	Rejected float64 `json:"apfRejected"`
	// Seats is the sum of apiserver_flowcontrol_nominal_limit_seats over the
	// priority levels: the concurrency APF shares out.
	Seats float64 `json:"apfSeats"`
}

func readServerGauges(ctx context.Context, env *harness.Env) (serverGauges, error) {
	var g serverGauges
	raw, err := serverMetrics(ctx, env)
	if err != nil {
		return g, err
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "apiserver_longrunning_requests{") && label(l, "verb") == "WATCH":
			g.Watches += value(l)
		case strings.HasPrefix(l, "apiserver_flowcontrol_rejected_requests_total{"):
			g.Rejected += value(l)
		case strings.HasPrefix(l, "apiserver_flowcontrol_nominal_limit_seats{"):
			g.Seats += value(l)
		}
	}
	return g, sc.Err()
}

// served sums what a serverRequests difference counts.
func (a serverRequests) served(b serverRequests) float64 {
	var n float64
	for k, v := range a {
		n += v - b[k]
	}
	return n
}

// cpuCores is the CPU a process used between two samples, in cores.
func cpuCores(a, b procStats, window time.Duration) float64 {
	return (b.CPU - a.CPU).Seconds() / window.Seconds()
}

// memAvailableMiB is the machine's MemAvailable.
func memAvailableMiB() int {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(field(string(b), "MemAvailable")), " kB"))
	return kb / 1024
}

// metric reads an unlabelled metric from the connector's metrics (0 when
// it is not exported).
func (c *connector) metric(ctx context.Context, name string) float64 {
	lines, err := scrape(ctx, "http://"+c.cfg.MetricsAddr+"/metrics", name+" ")
	if err != nil || len(lines) == 0 {
		return 0
	}
	return value(lines[0])
}

// parseFlagMap reads space-separated key=value pairs.
func parseFlagMap(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Fields(s) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

// window waits out a measurement window (not a wait for a condition).
func window(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
