package main

import (
	"context"
	"os"
	"runtime"
	"strings"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// machine describes where the figures were measured.
type machine struct {
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpuModel"`
	MemTotal   string `json:"memTotal"`
	Kernel     string `json:"kernel"`
	Go         string `json:"go"`
	APIServer  string `json:"apiServer"`
	LoadBefore string `json:"loadBefore"`
	LoadAfter  string `json:"loadAfter"`
}

func readMachine(_ context.Context) machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadBefore: loadavg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel = field(string(b), "model name")
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemTotal = field(string(b), "MemTotal")
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.APIServer = apiServerVersion()
	return m
}

func field(text, name string) string {
	for _, l := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// apiServerVersion is the pinned kube-apiserver's file name, which carries
// its version (bin/kube-apiserver-<version>).
func apiServerVersion() string {
	p := os.Getenv("MCP_KUBE_APISERVER")
	if p == "" {
		if root, err := harness.RepoRoot(); err == nil {
			p = root + "/bin/kube-apiserver-v1.34.10"
		}
	}
	i := strings.LastIndex(p, "kube-apiserver-")
	if i < 0 {
		return p
	}
	return p[i+len("kube-apiserver-"):]
}
