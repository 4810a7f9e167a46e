package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// pprofEnv names the address the profiling build of the connector serves
// net/http/pprof on (overlay/pprof.go.txt).
const pprofEnv = "MCP_BENCH_PPROF_ADDR"

// buildProfilingConnector builds cmd/mcp-connector of the source tree src
// (empty: this repository) with the bench's overlay into dir and returns the
// binary's path. The product code is unchanged: the overlay only adds a file
// that serves net/http/pprof when pprofEnv is set and one that times the
// clients' requests (overlay/requests.go.txt). mode "image" builds as
// test/tools/image builds the image's binary (run and version only, static,
// no cgo, paths trimmed, no symbol table), "go" as a plain go build (make build).
func buildProfilingConnector(dir, src, mode string) (string, error) {
	root, err := harness.RepoRoot()
	if err != nil {
		return "", err
	}
	overlayDir, err := filepath.Abs(filepath.Join(root, "test", "bench", "overlay"))
	if err != nil {
		return "", err
	}
	if src != "" {
		if root, err = filepath.Abs(src); err != nil {
			return "", err
		}
	}
	replace := map[string]string{}
	for file, into := range map[string]string{"pprof.go.txt": "zz_bench_pprof.go", "requests.go.txt": "zz_bench_requests.go"} {
		replace[filepath.Join(root, "cmd", "mcp-connector", into)] = filepath.Join(overlayDir, file)
	}
	overlay := map[string]map[string]string{"Replace": replace}
	b, err := json.Marshal(overlay)
	if err != nil {
		return "", err
	}
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, b, 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "mcp-connector-pprof")
	args := []string{"build", "-overlay", overlayFile, "-buildvcs=false", "-o", out}
	env := os.Environ()
	switch mode {
	case "image":
		args = append(args, "-tags=runonly", "-trimpath", "-ldflags=-s -w")
		env = append(env, "CGO_ENABLED=0")
	case "go":
	default:
		return "", fmt.Errorf("--connector-build=%s: want image or go", mode)
	}
	cmd := exec.Command("go", append(args, "./cmd/mcp-connector")...)
	cmd.Dir, cmd.Env = root, env
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the profiling connector: %w\n%s", err, b)
	}
	return out, nil
}

// connectorEnv is the bench's environment for a connector run, with
// GOMEMLIMIT and GOGC set as --gomemlimit and --gogc say: "chart" is what the
// chart's deployment sets for its default values (GOMEMLIMIT: the
// container's memory limit, in bytes; GOGC: goGC, none when 0), "off"
// leaves the variable unset, anything else is its value.
func connectorEnv(limit, gogc string) ([]string, error) {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMEMLIMIT=") && !strings.HasPrefix(kv, "GOGC=") {
			env = append(env, kv)
		}
	}
	var chart chartRuntime
	if limit == "chart" || gogc == "chart" {
		var err error
		if chart, err = readChartRuntime(); err != nil {
			return nil, err
		}
	}
	switch limit {
	case "off", "":
	case "chart":
		env = append(env, fmt.Sprintf("GOMEMLIMIT=%d", chart.MemoryLimit))
	default:
		env = append(env, "GOMEMLIMIT="+limit)
	}
	switch gogc {
	case "off", "":
	case "chart":
		if chart.GOGC > 0 {
			env = append(env, fmt.Sprintf("GOGC=%d", chart.GOGC))
		}
	default:
		env = append(env, "GOGC="+gogc)
	}
	return env, nil
}

// chartRuntime is what the chart's deployment gives the Go runtime for its
// default values.
type chartRuntime struct {
	// MemoryLimit is resources.limits.memory in bytes (GOMEMLIMIT, through
	// the downward API).
	MemoryLimit int64
	// GOGC is goGC; 0 sets none.
	GOGC int
}

// readChartRuntime reads resources.limits.memory and goGC of the chart's
// values.yaml.
func readChartRuntime() (chartRuntime, error) {
	root, err := harness.RepoRoot()
	if err != nil {
		return chartRuntime{}, err
	}
	raw, err := os.ReadFile(filepath.Join(root, "charts", "mcp-connector", "values.yaml"))
	if err != nil {
		return chartRuntime{}, err
	}
	var v struct {
		Resources struct {
			Limits struct {
				Memory string `json:"memory"`
			} `json:"limits"`
		} `json:"resources"`
		GoGC int `json:"goGC"`
	}
	if err := yaml.Unmarshal(raw, &v); err != nil {
		return chartRuntime{}, fmt.Errorf("chart values: %w", err)
	}
	q, err := resource.ParseQuantity(v.Resources.Limits.Memory)
	if err != nil {
		return chartRuntime{}, fmt.Errorf("chart values: resources.limits.memory: %w", err)
	}
	return chartRuntime{MemoryLimit: q.Value(), GOGC: v.GoGC}, nil
}

// connector is a running mcp-connector process.
type connector struct {
	cmd       *exec.Cmd
	cfg       harness.ConnectorConfig
	pprofAddr string
	// appHost and cpHost name the API servers in client-go's metrics.
	appHost, cpHost string
	started         time.Time
	done            chan struct{}
}

// startConnector runs bin between the world's clusters with the bench's
// client QPS and burst and the given resync period, logging to logPath.
func startConnector(bin string, w *world, o *Options, resync time.Duration, logPath string) (*connector, error) {
	return startConnectorAs(bin, w, connectorNamespace, clusterID, o, connectorArgs(o, resync), logPath)
}

// connectorArgs are the bench's flags for a connector run: its client QPS
// and burst, the resync period, and --connector-args.
func connectorArgs(o *Options, resync time.Duration) []string {
	args := []string{
		fmt.Sprintf("--kube-api-qps=%g", o.QPS), fmt.Sprintf("--kube-api-burst=%d", o.Burst),
		"--resync-period=" + resync.String(),
	}
	return append(args, o.ConnectorArgs...)
}

// startConnectorArgs runs bin between the world's clusters with exactly the
// given extra flags (none: the connector's own defaults).
func startConnectorArgs(bin string, w *world, o *Options, args []string, logPath string) (*connector, error) {
	return startConnectorAs(bin, w, connectorNamespace, clusterID, o, args, logPath)
}

// startConnectorAs is startConnectorArgs for the control-plane namespace ns
// and the cluster id id (the scale part runs many app clusters on one
// control plane).
func startConnectorAs(bin string, w *world, ns, id string, o *Options, args []string, logPath string) (*connector, error) {
	cfg, err := harness.NewConnectorConfig(w.app, w.cp, ns, id)
	if err != nil {
		return nil, err
	}
	if w.cpKubeconfig != "" {
		cfg.ControlPlaneKubeconfig = w.cpKubeconfig // through the world's proxy
	}
	cfg.ExtraArgs = args
	pprofAddr, err := harness.FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	env, err := connectorEnv(o.GoMemLimit, o.GoGC)
	if err != nil {
		_ = log.Close()
		return nil, err
	}
	cmd := exec.Command(bin, cfg.Args()...)
	cmd.Env = append(env, pprofEnv+"="+pprofAddr)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c := &connector{cmd: cmd, cfg: cfg, pprofAddr: pprofAddr, done: make(chan struct{}),
		appHost: hostOf(w.app.Config.Host), cpHost: hostOf(w.cp.Config.Host)}
	c.started = time.Now()
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		_ = cmd.Wait()
		_ = log.Close()
		close(c.done)
	}()
	return c, nil
}

func (c *connector) pid() int { return c.cmd.Process.Pid }

// stop sends SIGTERM and, after 30 s, SIGKILL.
func (c *connector) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// alive returns an error if the process has exited.
func (c *connector) alive() error {
	select {
	case <-c.done:
		return errors.New("mcp-connector exited; see its log in the output directory")
	default:
		return nil
	}
}

// procStats are what the kernel says about a process.
type procStats struct {
	// PeakRSS is VmHWM, the high-water mark of the resident set, in bytes.
	PeakRSS int64 `json:"peakRSSBytes"`
	RSS     int64 `json:"rssBytes"`
	// CPU is user plus system time.
	CPU time.Duration `json:"cpuNanos"`
}

// readProcStats reads /proc/<pid>/status and /proc/<pid>/stat.
func readProcStats(pid int) (procStats, error) {
	var s procStats
	status, err := procStatus(pid)
	if err != nil {
		return s, err
	}
	s.PeakRSS, s.RSS = status["VmHWM"], status["VmRSS"]
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	rest := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(rest) < 13 {
		return s, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, _ := strconv.ParseInt(rest[11], 10, 64)
	stime, _ := strconv.ParseInt(rest[12], 10, 64)
	const clockTicks = 100 // USER_HZ on Linux
	s.CPU = time.Duration(utime+stime) * time.Second / clockTicks
	return s, nil
}

// procStatus reads the sizes of /proc/<pid>/status (the lines in kB), by
// name, in bytes.
func procStatus(pid int) (map[string]int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	sizes := map[string]int64{}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[2] != "kB" {
			continue
		}
		if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
			sizes[strings.TrimSuffix(f[0], ":")] = kb * 1024
		}
	}
	return sizes, nil
}

// requests counts the connector's API requests by API server and method,
// from client-go's rest_client_requests_total on its metrics endpoint.
type requests map[string]map[string]float64 // host → method → count

func (c *connector) requests(ctx context.Context) (requests, error) {
	lines, err := scrape(ctx, "http://"+c.cfg.MetricsAddr+"/metrics", "rest_client_requests_total{")
	if err != nil {
		return nil, err
	}
	out := requests{}
	for _, l := range lines {
		host, method := label(l, "host"), label(l, "method")
		if out[host] == nil {
			out[host] = map[string]float64{}
		}
		out[host][method] += value(l)
	}
	return out, nil
}

// metricSum sums the series of a metric whose line contains every match.
func (c *connector) metricSum(ctx context.Context, name string, match ...string) (float64, error) {
	lines, err := scrape(ctx, "http://"+c.cfg.MetricsAddr+"/metrics", name+"{")
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, l := range lines {
		ok := true
		for _, m := range match {
			ok = ok && strings.Contains(l, m)
		}
		if ok {
			sum += value(l)
		}
	}
	return sum, nil
}

func scrape(ctx context.Context, u, prefix string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read connector metrics: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			out = append(out, sc.Text())
		}
	}
	return out, sc.Err()
}

func label(line, name string) string {
	i := strings.Index(line, name+`="`)
	if i < 0 {
		return ""
	}
	rest := line[i+len(name)+2:]
	return rest[:strings.IndexByte(rest, '"')]
}

func value(line string) float64 {
	f := strings.Fields(line)
	v, _ := strconv.ParseFloat(f[len(f)-1], 64)
	return v
}

// hostOf is the host:port that client-go's metrics name an API server by.
func hostOf(server string) string {
	u, err := url.Parse(server)
	if err != nil {
		return server
	}
	return u.Host
}

// sub returns a − b.
func (a requests) sub(b requests) requests {
	out := requests{}
	for h, m := range a {
		out[h] = map[string]float64{}
		for k, v := range m {
			out[h][k] = v - b[h][k]
		}
	}
	return out
}

// split returns the reads (GET, including LIST and WATCH) and writes of host.
func (a requests) split(host string) (reads, writes float64) {
	for m, v := range a[host] {
		if m == "GET" {
			reads += v
		} else {
			writes += v
		}
	}
	return reads, writes
}

// byMethod flattens the counts of the two API servers into "app PATCH",
// "cp POST" and so on.
func (a requests) byMethod(appHost, cpHost string) map[string]float64 {
	out := map[string]float64{}
	for side, host := range map[string]string{"app": appHost, "cp": cpHost} {
		for m, v := range a[host] {
			out[side+" "+m] += v
		}
	}
	return out
}
