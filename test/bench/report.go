package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Goals of issue 8: reported against, never asserted.
const (
	goalP99Ratio       = 2.0
	goalThroughput     = 0.8
	goalKiBPerClaim    = 15.0
	goalRecoverySecond = 10.0
)

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func ratio(a, b float64) string {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// report renders the results as markdown.
func report(r *Results) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# mcp-connector benchmark")
	p("")
	took := "unfinished"
	if !r.Finished.IsZero() {
		took = r.Finished.Sub(r.Started).Round(time.Second).String()
	}
	p("Run of %s (scale %s, took %s). Machine: %d × %s, %s, Linux %s, %s, kube-apiserver %s; load average %s before, %s after.",
		r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Settings.Scale, took, r.Machine.CPUs, r.Machine.CPUModel,
		r.Machine.MemTotal, r.Machine.Kernel, r.Machine.Go, r.Machine.APIServer, r.Machine.LoadBefore, orDash(r.Machine.LoadAfter))
	p("")
	p("Client QPS %g and burst %d per API server for the connector (`--kube-api-qps`, `--kube-api-burst`) and for the baseline client alike; the baseline runs %d requests at a time (the connector: its default 16 workers × 3 kinds).",
		r.Settings.QPS, r.Settings.Burst, r.Settings.BaselineWorkers)
	p("")
	p("> **Noise.** Both API servers, their etcds, the connector and the bench share the machine's cores, and other jobs may run on it at the same time: single figures move by tens of percent between runs. Compare a connector figure with the baseline figure of the same run, not with another run's.")
	p("")
	latencySection(p, r)
	throughputSection(p, r)
	requestsSection(p, r)
	steadySection(p, r)
	memorySection(p, r)
	recoverySection(p, r)
	profileSection(p, r)
	for _, rp := range registry {
		rp.section(p, r)
	}
	if len(r.Errors) > 0 {
		p("## Errors")
		p("")
		for _, e := range r.Errors {
			p("- %s", e)
		}
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

type printer func(format string, args ...any)

func latencySection(p printer, r *Results) {
	if len(r.Latency) == 0 {
		return
	}
	p("## Latency")
	p("")
	p("%d samples per figure, one claim at a time, connector and baseline interleaved; milliseconds from the write until a watch on the other side sees it. Plot: latency.png.", len(r.Latency[0].ConnectorMs))
	p("")
	p("| figure | baseline does | | p50 | p90 | p99 | max | goal (p99 ≤ %.0f× baseline) |", goalP99Ratio)
	p("|---|---|---|---:|---:|---:|---:|---|")
	for _, l := range r.Latency {
		row := func(label string, xs []float64) string {
			return fmt.Sprintf("%s | %.1f | %.1f | %.1f | %.1f", label, percentile(xs, 50), percentile(xs, 90), percentile(xs, 99), percentile(xs, 100))
		}
		c99, b99 := percentile(l.ConnectorMs, 99), percentile(l.BaselineMs, 99)
		p("| %s | %s | %s | %s |", l.Figure, l.Baseline, row("connector", l.ConnectorMs), verdict(c99 <= goalP99Ratio*b99))
		p("| | | %s | |", row("baseline", l.BaselineMs))
		p("| | | ratio | %s | %s | %s | %s | |", ratio(percentile(l.ConnectorMs, 50), percentile(l.BaselineMs, 50)),
			ratio(percentile(l.ConnectorMs, 90), percentile(l.BaselineMs, 90)), ratio(c99, b99),
			ratio(percentile(l.ConnectorMs, 100), percentile(l.BaselineMs, 100)))
	}
	p("")
}

func throughputSection(p printer, r *Results) {
	if len(r.Throughput) == 0 {
		return
	}
	p("## Initial sync throughput")
	p("")
	p("Claims spread over %d namespaces and 3 kinds. Connector: from its start (cold start) or the first create (during creation) until the last remote claim exists; baseline: a bare client creating as many remote objects directly. \"In sync\" is until every local claim reports ControlPlaneSynced=True.", localNamespaces)
	p("")
	p("| claims | mode | connector | baseline | ratio | goal (≥ %.1f×) | all in sync | bench created the claims in |", goalThroughput)
	p("|---:|---|---:|---:|---:|---|---:|---:|")
	for _, t := range r.Throughput {
		p("| %d | %s | %.0f claims/s (%.1f s) | %.0f claims/s (%.1f s) | %s | %s | %.1f s | %.1f s |", t.Claims, t.Mode,
			t.rate(), t.Seconds, t.baselineRate(), t.BaselineSeconds, ratio(t.rate(), t.baselineRate()),
			verdict(t.rate() >= goalThroughput*t.baselineRate()), t.SyncedSeconds, t.CreateSeconds)
	}
	p("")
}

func requestsSection(p printer, r *Results) {
	if len(r.Throughput) == 0 {
		return
	}
	p("## Requests per claim during the initial sync")
	p("")
	p("From the connector's client-go metrics (`rest_client_requests_total`, by API server; reads are GET, LIST and WATCH). The baseline makes one write per claim, in the control plane. Cold start includes the connector's own start; during creation does not.")
	p("")
	p("| claims | mode | app reads | app writes | control-plane reads | control-plane writes | total | baseline | ratio | by method, per claim | passes a claim | connector CPU a claim, to in sync |")
	p("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
	for _, t := range r.Throughput {
		n := float64(t.Claims)
		total := (t.AppReads + t.AppWrites + t.CPReads + t.CPWrites) / n
		p("| %d | %s | %.2f | %.2f | %.2f | %.2f | %.2f | 1 | %.2f× | %s | %.2f | %.2f ms |", t.Claims, t.Mode, t.AppReads/n, t.AppWrites/n, t.CPReads/n, t.CPWrites/n, total, total, perMethod(t.ByMethod, n),
			t.Passes/n, 1000*t.SyncCPU/n)
	}
	p("")
}

func steadySection(p printer, r *Results) {
	s := r.Steady
	if s == nil {
		return
	}
	p("## Steady state")
	p("")
	p("%d claims in sync, nothing changing; the connector restarted with `--resync-period=%s` and, after its first pass, watched for %.1f minutes (%.0f reconciles in that window). A bare client at rest makes no request.",
		s.Claims, s.Resync, s.WindowMinutes, s.Reconciles)
	p("")
	p("| API server | reads/min | writes/min | goal (zero writes at rest) |")
	p("|---|---:|---:|---|")
	p("| app cluster | %.1f | %.1f | %s |", s.AppReadsPerMin, s.AppWritesPerMin, verdict(s.AppWritesPerMin == 0))
	p("| control plane | %.1f | %.1f | %s |", s.CPReadsPerMin, s.CPWritesPerMin, verdict(s.CPWritesPerMin == 0))
	p("")
	p("The restart's first pass over the %d claims took %.1f s and made %.0f reads and %.0f writes in the app cluster, %.0f reads and %.0f writes in the control plane (%.3f requests per claim). At rest the connector used %.1f CPU seconds a minute; RSS %.0f MiB.",
		s.Claims, s.RestartSeconds, s.RestartAppReads, s.RestartAppWrites, s.RestartCPReads, s.RestartCPWrites,
		(s.RestartAppReads+s.RestartAppWrites+s.RestartCPReads+s.RestartCPWrites)/float64(s.Claims), s.CPUSeconds/s.WindowMinutes, float64(s.RSS)/(1<<20))
	p("")
	p("What each API server served in the window, from every client (its own loopback requests and the bench's watches included), from `apiserver_request_total`:")
	p("")
	p("- app cluster: %s", orDash(strings.Join(s.AppServed, ", ")))
	p("- control plane: %s", orDash(strings.Join(s.CPServed, ", ")))
	p("")
}

func memorySection(p printer, r *Results) {
	if len(r.Throughput) == 0 {
		return
	}
	p("## Memory and CPU of the connector process")
	p("")
	p("Peak RSS is VmHWM of /proc/<pid>/status; CPU is user + system time of /proc/<pid>/stat, from the process's start until every claim was in sync and, after that, the bench (playing Crossplane) had written a connection Secret for every claim in the control plane and the connector had copied each one into the app cluster (the Secrets column: from the first write to the last copy).")
	p("")
	p("| claims | mode | peak RSS | per claim | CPU | per claim | Secrets copied in | goal (≤ %.0f KiB a claim at 10k) |", goalKiBPerClaim)
	p("|---:|---|---:|---:|---:|---:|---:|---|")
	for _, t := range r.Throughput {
		n := float64(t.Claims)
		kib := float64(t.Proc.PeakRSS) / 1024 / n
		goal := "—"
		if t.Claims >= 10000 {
			goal = verdict(kib <= goalKiBPerClaim)
		}
		p("| %d | %s | %.0f MiB | %.1f KiB | %.1f s | %.2f ms | %.1f s | %s |", t.Claims, t.Mode, float64(t.Proc.PeakRSS)/(1<<20), kib,
			t.Proc.CPU.Seconds(), t.Proc.CPU.Seconds()*1000/n, t.SecretSeconds, goal)
	}
	p("")
}

func recoverySection(p printer, r *Results) {
	x := r.Recovery
	if x == nil {
		return
	}
	p("## Recovery after a partition")
	p("")
	p("The control plane's kube-apiserver stops (etcd and every object stay) for %.0f s; meanwhile %d local claims get a new spec (in %.1f s). Timed from the control plane answering again until every change is in it (polled every 50 ms). The baseline holds the same number of changes and pushes them as soon as the control plane answers.",
		x.PartitionSeconds, x.Changes, x.ChangeSeconds)
	p("")
	p("| changes | connector | baseline | ratio | goal (≤ %.0f s) | connector saw the control plane again after | 10 / 50 / 90 %% converged after |", goalRecoverySecond)
	p("|---:|---:|---:|---:|---|---:|---:|")
	p("| %d | %.1f s | %.1f s | %s | %s | %.1f s | %.1f / %.1f / %.1f s |", x.Changes, x.Seconds, x.BaselineSeconds, ratio(x.Seconds, x.BaselineSeconds),
		verdict(x.Seconds <= goalRecoverySecond), x.ReachableSeconds, x.Progress[0], x.Progress[1], x.Progress[2])
	p("")
}

func profileSection(p printer, r *Results) {
	x := r.Profile
	if x == nil {
		return
	}
	p("## Profile of the cold start with %d claims", x.Claims)
	p("")
	p("CPU profiles in %s-second windows over the whole initial sync, merged; the heap profile right after it. Files under profiles/ (`go tool pprof -http=: FILE`).", fmt.Sprint(profileWindow.Seconds()))
	p("")
	for _, s := range []struct{ title, body string }{
		{"CPU, flat", x.CPUTop}, {"CPU, cumulative", x.CPUCum}, {"CPU, the connector's own functions (cumulative)", x.CPUOwn}, {"Allocations (alloc_space)", x.AllocTop}, {"Live heap (inuse_space)", x.HeapTop},
	} {
		if s.body == "" {
			continue
		}
		p("### %s", s.title)
		p("")
		p("```")
		p("%s", s.body)
		p("```")
		p("")
	}
}

// perMethod lists the requests per claim by API server and method, e.g.
// "app PATCH 2.00, cp POST 1.00"; GET includes LIST and WATCH.
func perMethod(m map[string]float64, n float64) string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v/n >= 0.005 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.2f", k, m[k]/n)
	}
	return orDash(strings.Join(parts, ", "))
}
