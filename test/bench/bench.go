package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// bench runs every part and collects the results.
type bench struct {
	o       *Options
	bin     string
	results *Results
}

// Results is everything results.json holds; report.md is made from it.
type Results struct {
	Machine    machine            `json:"machine"`
	Settings   settings           `json:"settings"`
	Started    time.Time          `json:"started"`
	Finished   time.Time          `json:"finished"`
	Latency    []latencyResult    `json:"latency"`
	Throughput []throughputResult `json:"throughput"`
	Steady     *steadyResult      `json:"steady,omitempty"`
	Recovery   *recoveryResult    `json:"recovery,omitempty"`
	Profile    *profileResult     `json:"profile,omitempty"`
	// Parts holds the results of the registered parts (parts.go), by name.
	Parts  map[string]json.RawMessage `json:"parts,omitempty"`
	Errors []string                   `json:"errors,omitempty"`
}

type settings struct {
	Scale           string  `json:"scale"`
	QPS             float32 `json:"qps"`
	Burst           int     `json:"burst"`
	BaselineWorkers int     `json:"baselineWorkers"`
	ConnectorBinary string  `json:"connectorBinary"`
	SteadyResync    string  `json:"steadyResync"`
	Partition       string  `json:"partition"`
}

// latencyResult holds every sample of one figure, in milliseconds.
type latencyResult struct {
	Figure      string    `json:"figure"`
	Baseline    string    `json:"baseline"`
	ConnectorMs []float64 `json:"connectorMs"`
	BaselineMs  []float64 `json:"baselineMs"`
}

func newBench(o *Options) *bench {
	return &bench{o: o, results: &Results{Settings: settings{
		Scale: o.Scale, QPS: o.QPS, Burst: o.Burst, BaselineWorkers: o.Workers,
		SteadyResync: o.SteadyResync.String(), Partition: o.Partition.String()}}}
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (b *bench) run(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Join(b.o.Out, "logs"), 0o755); err != nil {
		return err
	}
	b.bin = b.o.Connector
	if b.o.Profile {
		var err error
		if b.bin, err = buildProfilingConnector(b.o.Out, b.o.ConnectorSource, b.o.ConnectorBuild); err != nil {
			return err
		}
	}
	b.results.Settings.ConnectorBinary = b.bin
	b.results.Started = time.Now()
	b.results.Machine = readMachine(ctx)
	parts := []struct {
		name string
		run  func(context.Context) error
	}{}
	if b.o.selected("latency") {
		parts = append(parts, struct {
			name string
			run  func(context.Context) error
		}{"latency", b.latency})
	}
	for i, n := range b.o.Sizes {
		if !b.o.selected("throughput") {
			break
		}
		largest, first := i == len(b.o.Sizes)-1, i == 0
		parts = append(parts,
			struct {
				name string
				run  func(context.Context) error
			}{fmt.Sprintf("cold start, %d claims", n), func(ctx context.Context) error { return b.coldStart(ctx, n, largest) }},
			struct {
				name string
				run  func(context.Context) error
			}{fmt.Sprintf("during creation, %d claims", n), func(ctx context.Context) error { return b.duringCreation(ctx, n, first) }})
	}
	for _, rp := range registry {
		if rp := rp; b.o.selected(rp.name) {
			parts = append(parts, struct {
				name string
				run  func(context.Context) error
			}{rp.name, func(ctx context.Context) error { return rp.run(ctx, b) }})
		}
	}
	for _, p := range parts {
		start := time.Now()
		if err := p.run(ctx); err != nil {
			b.results.Errors = append(b.results.Errors, fmt.Sprintf("%s: %v", p.name, err))
			b.logf("%s failed: %v", p.name, err)
			if ctx.Err() != nil {
				break
			}
		}
		b.logf("%s done in %s", p.name, time.Since(start).Round(time.Second))
		if err := b.write(); err != nil {
			return err
		}
	}
	b.results.Finished = time.Now()
	b.results.Machine.LoadAfter = loadavg()
	if err := b.write(); err != nil {
		return err
	}
	b.logf("report: %s (took %s)", filepath.Join(b.o.Out, "report.md"), b.results.Finished.Sub(b.results.Started).Round(time.Second))
	if len(b.results.Errors) > 0 {
		return fmt.Errorf("%d parts failed; see the report", len(b.results.Errors))
	}
	return nil
}

// write saves results.json, report.md and latency.png (after every part,
// so that an interrupted run still leaves what it measured).
func (b *bench) write() error {
	raw, err := json.MarshalIndent(b.results, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.o.Out, "results.json"), raw, 0o644); err != nil {
		return err
	}
	if len(b.results.Latency) > 0 {
		if err := plotLatency(b.results.Latency, filepath.Join(b.o.Out, "latency.png")); err != nil {
			return fmt.Errorf("plot: %w", err)
		}
	}
	return os.WriteFile(filepath.Join(b.o.Out, "report.md"), []byte(report(b.results)), 0o644)
}

// startConnector starts the connector between w's clusters and waits until
// it serves the three claim APIs in the app cluster.
func (b *bench) startConnector(ctx context.Context, w *world, name string, resync time.Duration) (*connector, error) {
	c, err := startConnector(b.bin, w, b.o, resync, b.logPath(name))
	if err != nil {
		return nil, err
	}
	if err := waitCRDs(ctx, w.app, 2*time.Minute); err != nil {
		c.stop()
		return nil, fmt.Errorf("connector did not mirror the claim APIs (log %s): %w", b.logPath(name), err)
	}
	return c, nil
}

// rewriteReport renders report.md and latency.png again from results.json.
func rewriteReport(o *Options) error {
	raw, err := os.ReadFile(filepath.Join(o.Out, "results.json"))
	if err != nil {
		return err
	}
	b := &bench{o: o, results: &Results{}}
	if err := json.Unmarshal(raw, b.results); err != nil {
		return fmt.Errorf("read results.json: %w", err)
	}
	return b.write()
}
