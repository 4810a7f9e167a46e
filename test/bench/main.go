package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// Options are the bench's flags. --scale picks the defaults of the others.
type Options struct {
	Scale          string
	Out            string
	Connector      string
	Profile        bool
	QPS            float32
	Burst          int
	Workers        int
	LatencySamples int
	Sizes          []int
	SteadyWindow   time.Duration
	SteadyResync   time.Duration
	Changes        int
	Partition      time.Duration
	ConnectorArgs  []string
	ReportOnly     bool
	Parts          []string
	// GoMemLimit is the connector's GOMEMLIMIT: "chart" (as the chart sets
	// it for its default limits.memory), "off", or a value for the runtime.
	GoMemLimit string
	// GoGC is the connector's GOGC: "chart" (goGC of the chart's values),
	// "off", or a value.
	GoGC string
	// ConnectorSource is the source tree the profiling connector is built
	// from (default: this repository), to measure another commit's
	// connector with this bench.
	ConnectorSource string
	// ConnectorBuild is how the profiling connector is built: "image" (as
	// the image's binary) or "go" (a plain go build).
	ConnectorBuild string

	parse func() error // finishes the flags that need converting
}

// scales are the presets: full is what the README's figures come from;
// small finishes in a few minutes, for iterating.
var scales = map[string]Options{
	"full":  {LatencySamples: 200, Sizes: []int{1000, 10000}, SteadyWindow: 5 * time.Minute, SteadyResync: 30 * time.Second, Changes: 1000},
	"small": {LatencySamples: 40, Sizes: []int{300, 1000}, SteadyWindow: time.Minute, SteadyResync: 15 * time.Second, Changes: 1000},
}

func (o *Options) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Scale, "scale", "full", "Preset of the figures below: full or small.")
	fs.StringVar(&o.Out, "out", ".bench", "Directory for report.md, latency.png, results.json, logs and profiles.")
	fs.StringVar(&o.Connector, "connector", "", "mcp-connector binary (default: $MCP_CONNECTOR, else bin/mcp-connector); ignored with --profile.")
	fs.BoolVar(&o.Profile, "profile", true, "Run a build of the connector that serves pprof (the product code plus one overlay file) and profile the largest initial sync.")
	qps := fs.Float64("qps", 500, "Client-side QPS of the connector (--kube-api-qps) and of the baseline client, per API server; the default is the connector's.")
	fs.IntVar(&o.Burst, "burst", 1000, "Client-side burst of the connector (--kube-api-burst) and of the baseline client; the default is the connector's.")
	fs.IntVar(&o.Workers, "baseline-workers", 48, "Concurrent requests of the baseline: the connector runs 16 workers (its default) for each of the 3 kinds.")
	fs.IntVar(&o.LatencySamples, "latency-samples", 0, "Samples per latency figure (default: from --scale).")
	sizes := fs.String("sizes", "", "Comma-separated claim counts of the throughput runs (default: from --scale).")
	fs.DurationVar(&o.SteadyWindow, "steady", 0, "Steady-state observation window (default: from --scale).")
	fs.DurationVar(&o.SteadyResync, "steady-resync", 0, "The connector's --resync-period during the steady state (default: from --scale).")
	fs.IntVar(&o.Changes, "changes", 0, "Changes made during the partition (default: from --scale; at most the smallest size).")
	fs.DurationVar(&o.Partition, "partition", 20*time.Second, "How long the control plane stays away in the recovery run.")
	fs.BoolVar(&o.ReportOnly, "report-only", false, "Only rewrite report.md and latency.png from the results.json in --out.")
	parts := fs.String("parts", "", "Comma-separated parts to run (default: all): latency, throughput (with steady state, memory, recovery and profile) and the registered ones of parts.go.")
	for _, add := range partFlags {
		add(fs)
	}
	fs.StringVar(&o.GoMemLimit, "gomemlimit", "chart", "GOMEMLIMIT of every connector run: chart (limits.memory of charts/mcp-connector/values.yaml, as the chart sets it), off, or a value (e.g. 200MiB).")
	fs.StringVar(&o.GoGC, "gogc", "chart", "GOGC of every connector run: chart (goGC of charts/mcp-connector/values.yaml, as the chart sets it; none when 0), off, or a value (e.g. 100).")
	fs.StringVar(&o.ConnectorSource, "connector-source", "", "Source tree the profiling connector is built from (default: this repository), e.g. an export of another commit to compare; the chart's values are still read from this repository.")
	fs.StringVar(&o.ConnectorBuild, "connector-build", "image", "How the profiling connector is built: image (run and version only, static, no cgo, -trimpath, -ldflags=-s -w, as the image's binary: test/tools/image) or go (a plain go build, as make build).")
	connectorArgs := fs.String("connector-args", "", "Extra flags for every connector run, space-separated (e.g. \"--zap-log-level=debug\").")
	o.parse = func() error {
		o.QPS = float32(*qps)
		o.ConnectorArgs = strings.Fields(*connectorArgs)
		for _, s := range strings.Split(*parts, ",") {
			if s = strings.TrimSpace(s); s != "" {
				o.Parts = append(o.Parts, s)
			}
		}
		for _, s := range strings.Split(*sizes, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			n, err := strconv.Atoi(s)
			if err != nil {
				return fmt.Errorf("--sizes: %w", err)
			}
			o.Sizes = append(o.Sizes, n)
		}
		return nil
	}
}

// Complete fills what the flags left to the scale preset.
func (o *Options) Complete() error {
	if err := o.parse(); err != nil {
		return err
	}
	def, ok := scales[o.Scale]
	if !ok {
		return fmt.Errorf("--scale=%s: want full or small", o.Scale)
	}
	if o.LatencySamples == 0 {
		o.LatencySamples = def.LatencySamples
	}
	if len(o.Sizes) == 0 {
		o.Sizes = def.Sizes
	}
	if o.SteadyWindow == 0 {
		o.SteadyWindow = def.SteadyWindow
	}
	if o.SteadyResync == 0 {
		o.SteadyResync = def.SteadyResync
	}
	if o.Changes == 0 {
		o.Changes = def.Changes
	}
	if o.Connector == "" {
		o.Connector = os.Getenv("MCP_CONNECTOR")
	}
	if o.Connector == "" {
		root, err := harness.RepoRoot()
		if err != nil {
			return err
		}
		o.Connector = filepath.Join(root, "bin", "mcp-connector")
	}
	var err error
	o.Out, err = filepath.Abs(o.Out)
	return err
}

func (o *Options) Validate() error {
	var errs []error
	if o.QPS <= 0 || o.Burst < 1 || o.Workers < 1 || o.LatencySamples < 1 {
		errs = append(errs, errors.New("--qps, --burst, --baseline-workers and --latency-samples must be positive"))
	}
	if err := o.validateParts(); err != nil {
		errs = append(errs, err)
	}
	for _, n := range o.Sizes {
		if n < len(kinds) {
			errs = append(errs, fmt.Errorf("--sizes: %d is fewer claims than kinds", n))
		}
	}
	if !o.Profile {
		if _, err := os.Stat(o.Connector); err != nil {
			errs = append(errs, fmt.Errorf("connector binary: %w (run `make build`)", err))
		}
	}
	return errors.Join(errs...)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	o := &Options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := o.Complete(); err != nil {
		return err
	}
	if o.ReportOnly {
		return rewriteReport(o)
	}
	if err := o.Validate(); err != nil {
		return err
	}
	ctrllog.SetLogger(logr.Discard())
	klog.SetLogger(logr.Discard())
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	return newBench(o).run(ctx)
}
