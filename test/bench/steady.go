package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// steadyResult is the connector at rest: every claim in sync, nothing
// changing, resyncs running.
type steadyResult struct {
	Claims        int     `json:"claims"`
	Resync        string  `json:"resync"`
	WindowMinutes float64 `json:"windowMinutes"`
	// Restart* are the requests of the first pass after a restart over
	// claims that are all in sync already.
	RestartSeconds                    float64 `json:"restartSeconds"`
	RestartAppReads, RestartAppWrites float64
	RestartCPReads, RestartCPWrites   float64
	AppReadsPerMin, AppWritesPerMin   float64
	CPReadsPerMin, CPWritesPerMin     float64
	Reconciles                        float64 `json:"reconciles"`
	CPUSeconds                        float64 `json:"cpuSeconds"`
	RSS                               int64   `json:"rssBytes"`
	// AppServed and CPServed are what each API server served in the window,
	// from every client: the largest entries.
	AppServed []string `json:"appServed"`
	CPServed  []string `json:"cpServed"`
}

const claimControllers = `controller="claim-`

// steady restarts the connector with a short resync period over n claims
// that are in sync, waits for its first pass, then watches a quiet window.
func (b *bench) steady(ctx context.Context, w *world, n int) error {
	res := &steadyResult{Claims: n, Resync: b.o.SteadyResync.String(), WindowMinutes: b.o.SteadyWindow.Minutes()}
	conn, err := startConnector(b.bin, w, b.o, b.o.SteadyResync, b.logPath("steady"))
	if err != nil {
		return err
	}
	defer conn.stop()
	b.logf("steady: restarted the connector over %d claims in sync (resync %s)", n, b.o.SteadyResync)
	if err := b.waitFirstPass(ctx, conn, n); err != nil {
		return err
	}
	res.RestartSeconds = time.Since(conn.started).Seconds()
	r0, err := conn.requestsLessLease(ctx)
	if err != nil {
		return err
	}
	res.RestartAppReads, res.RestartAppWrites = r0.split(conn.appHost)
	res.RestartCPReads, res.RestartCPWrites = r0.split(conn.cpHost)
	p0, err := readProcStats(conn.pid())
	if err != nil {
		return err
	}
	rec0, err := conn.metricSum(ctx, "controller_runtime_reconcile_total", claimControllers)
	if err != nil {
		return err
	}
	app0, err := readServerRequests(ctx, w.app)
	if err != nil {
		return err
	}
	cp0, err := readServerRequests(ctx, w.cp)
	if err != nil {
		return err
	}
	b.logf("steady: first pass done after %.1f s; watching %s", res.RestartSeconds, b.o.SteadyWindow)
	select { // a measurement window, not a wait for a condition
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(b.o.SteadyWindow):
	}
	r1, err := conn.requestsLessLease(ctx)
	if err != nil {
		return err
	}
	p1, err := readProcStats(conn.pid())
	if err != nil {
		return err
	}
	rec1, err := conn.metricSum(ctx, "controller_runtime_reconcile_total", claimControllers)
	if err != nil {
		return err
	}
	app1, err := readServerRequests(ctx, w.app)
	if err != nil {
		return err
	}
	cp1, err := readServerRequests(ctx, w.cp)
	if err != nil {
		return err
	}
	res.AppServed, res.CPServed = app1.top(app0, 8), cp1.top(cp0, 8)
	d, mins := r1.sub(r0), b.o.SteadyWindow.Minutes()
	ar, aw := d.split(conn.appHost)
	cr, cw := d.split(conn.cpHost)
	res.AppReadsPerMin, res.AppWritesPerMin, res.CPReadsPerMin, res.CPWritesPerMin = ar/mins, aw/mins, cr/mins, cw/mins
	res.Reconciles, res.CPUSeconds, res.RSS = rec1-rec0, (p1.CPU - p0.CPU).Seconds(), p1.RSS
	b.results.Steady = res
	b.logf("steady: %.1f reads/min and %.1f writes/min to the app cluster, %.1f and %.1f to the control plane; %0.f reconciles",
		res.AppReadsPerMin, res.AppWritesPerMin, res.CPReadsPerMin, res.CPWritesPerMin, res.Reconciles)
	return nil
}

// waitFirstPass waits until the claim controllers have reconciled n times
// and the connector has made no request for 5 s.
func (b *bench) waitFirstPass(ctx context.Context, conn *connector, n int) error {
	deadline := time.Now().Add(syncTimeout(n))
	var last float64
	quietSince := time.Now()
	for time.Now().Before(deadline) {
		if err := conn.alive(); err != nil {
			return err
		}
		rec, _ := conn.metricSum(ctx, "controller_runtime_reconcile_total", claimControllers)
		req, _ := conn.metricSum(ctx, "rest_client_requests_total")
		lease, _ := conn.metricSum(ctx, leaseRequests)
		req -= lease
		if req != last {
			last, quietSince = req, time.Now()
		}
		if rec >= float64(n) && time.Since(quietSince) >= 5*time.Second {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("the restarted connector did not settle within %s", syncTimeout(n))
}

// leaseRequests counts the connector's requests for its cluster-id Lease in
// the control plane: renewals (12 a minute) are a heartbeat, not writes of
// claims, and are left out of "at rest" (docs/offline.md gives their cost).
const leaseRequests = "mcp_connector_control_plane_lease_requests_total"

// requestsLessLease is requests without those of the cluster-id Lease (GET
// for get, POST for create, PUT for update, on the control plane), both read
// from one scrape so that a renewal between two reads cannot skew them.
func (c *connector) requestsLessLease(ctx context.Context) (requests, error) {
	lines, err := scrape(ctx, "http://"+c.cfg.MetricsAddr+"/metrics", "")
	if err != nil {
		return nil, err
	}
	out := requests{}
	methodOf := map[string]string{"get": "GET", "create": "POST", "update": "PUT"}
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "rest_client_requests_total{"):
			host, method := label(l, "host"), label(l, "method")
			if out[host] == nil {
				out[host] = map[string]float64{}
			}
			out[host][method] += value(l)
		case strings.HasPrefix(l, leaseRequests+"{"):
			if out[c.cpHost] == nil {
				out[c.cpHost] = map[string]float64{}
			}
			out[c.cpHost][methodOf[label(l, "verb")]] -= value(l)
		}
	}
	return out, nil
}
