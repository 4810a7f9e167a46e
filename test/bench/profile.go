package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// profileWindow is the length of each CPU profile the profiler takes; the
// windows are merged. The last one is cut short when the sync ends.
const profileWindow = 5 * time.Second

// profiler takes back-to-back CPU profiles of the connector.
type profiler struct {
	addr, dir, prefix string
	stop              chan struct{}
	done              chan []string
}

// profileResult is what the report shows of the profiles.
type profileResult struct {
	Claims   int      `json:"claims"`
	Files    []string `json:"files"`
	CPUTop   string   `json:"cpuTop"`
	CPUCum   string   `json:"cpuCum"`
	CPUOwn   string   `json:"cpuOwn"`
	AllocTop string   `json:"allocTop"`
	HeapTop  string   `json:"heapTop"`
}

func startProfiler(addr, dir, prefix string) *profiler {
	p := &profiler{addr: addr, dir: filepath.Join(dir, "profiles"), prefix: prefix, stop: make(chan struct{}), done: make(chan []string, 1)}
	_ = os.MkdirAll(p.dir, 0o755)
	go p.loop()
	return p
}

// loop takes profiles until stop is closed; the window under way then
// completes, so that the end of the sync is in the profile too.
func (p *profiler) loop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	var files []string
	for i := 0; ; i++ {
		select {
		case <-p.stop:
			p.done <- files
			return
		default:
		}
		path := filepath.Join(p.dir, fmt.Sprintf("%s-cpu-%03d.pprof", p.prefix, i))
		if err := p.fetch(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(profileWindow.Seconds())), path); err != nil {
			select { // not serving yet
			case <-p.stop:
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		files = append(files, path)
	}
}

func (p *profiler) fetch(ctx context.Context, path, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

// finish stops the CPU profiles, takes a heap profile and summarises both
// with `go tool pprof`.
func (p *profiler) finish(ctx context.Context, claims int) *profileResult {
	close(p.stop)
	files := <-p.done
	res := &profileResult{Claims: claims, Files: files}
	heap := filepath.Join(p.dir, p.prefix+"-heap.pprof")
	if err := p.fetch(ctx, "/debug/pprof/heap", heap); err == nil {
		res.Files = append(res.Files, heap)
		res.AllocTop = pprofTop("-sample_index=alloc_space", heap)
		res.HeapTop = pprofTop("-sample_index=inuse_space", heap)
	}
	if len(files) > 0 {
		res.CPUTop = pprofTop("", files...)
		res.CPUCum = pprofTop("-cum", files...)
		res.CPUOwn = pprofTop("-cum -show=mcp-connector/", files...)
	}
	return res
}

// pprofTop runs `go tool pprof -top` and keeps the first lines.
func pprofTop(flag string, files ...string) string {
	args := []string{"tool", "pprof", "-top", "-nodecount=25"}
	args = append(args, strings.Fields(flag)...)
	out, err := exec.Command("go", append(args, files...)...).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("go tool pprof: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.Join(lines[:min(len(lines), 32)], "\n")
}
