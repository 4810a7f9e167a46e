package soak

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// report is what a run writes: markdown for people, JSON beside it.
type report struct {
	Seed             uint64            `json:"seed"`
	Ops              int               `json:"ops"`
	Duration         string            `json:"duration"`
	ScheduleDuration string            `json:"scheduleDuration"`
	Operations       map[string]int    `json:"operations"`
	Rejected         map[string]int    `json:"rejected"`
	Faults           map[string]int    `json:"faults"`
	SelfExits        int               `json:"connectorSelfExits"`
	ConvergeAfter    string            `json:"convergeAfterLastFault"`
	ConvergeError    string            `json:"convergeError,omitempty"`
	RestAfter        string            `json:"restAfterConvergence"`
	RestWrites       restWrites        `json:"restWrites"`
	FinalClaims      map[string]int    `json:"finalClaims"`
	Invariants       []invariantResult `json:"invariants"`
	inv              [invCount]violations
}

type restWrites struct {
	App          float64 `json:"app"`
	ControlPlane float64 `json:"controlPlane"`
	Window       string  `json:"window"`
}

type invariantResult struct {
	Name string `json:"name"`
	violations
}

func newReport(seed uint64, ops int) *report {
	return &report{Seed: seed, Ops: ops, Operations: map[string]int{}, Rejected: map[string]int{}, Faults: map[string]int{}, FinalClaims: map[string]int{}}
}

func (r *report) violations() int {
	n := 0
	for i := range r.inv {
		n += r.inv[i].Count
	}
	return n
}

// write writes the markdown report at path and the JSON one beside it.
func (r *report) write(path string) (string, error) {
	r.Invariants = nil
	for i := range r.inv {
		r.Invariants = append(r.Invariants, invariantResult{Name: invNames[i], violations: r.inv[i]})
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	jsonPath := strings.TrimSuffix(path, filepath.Ext(path)) + ".json"
	if err := os.WriteFile(jsonPath, b, 0o644); err != nil {
		return "", err
	}
	return jsonPath, os.WriteFile(path, []byte(r.markdown()), 0o644)
}

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Soak report\n\nseed %d (rerun: `make soak SOAK_SEED=%d SOAK_OPS=%d`), %d operations, %s in all, schedule %s\n\n",
		r.Seed, r.Seed, r.Ops, r.Ops, r.Duration, r.ScheduleDuration)
	table := func(title string, m map[string]int) {
		fmt.Fprintf(&b, "| %s | count |\n|---|---|\n", title)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "| %s | %d |\n", k, m[k])
		}
		b.WriteString("\n")
	}
	table("operation", r.Operations)
	table("rejected by the API (counted in operations)", r.Rejected)
	table("fault", r.Faults)
	table("claims at the end, by model state", r.FinalClaims)
	fmt.Fprintf(&b, "Connector replicas that exited by themselves (and were started again): %d\n\n", r.SelfExits)
	fmt.Fprintf(&b, "Converged %s after the last fault; no write for %s after %s more (writes over the window: app cluster %v, control plane %v, Lease renewals left out).\n\n",
		r.ConvergeAfter, r.RestWrites.Window, r.RestAfter, r.RestWrites.App, r.RestWrites.ControlPlane)
	if r.ConvergeError != "" {
		fmt.Fprintf(&b, "Did not converge: %s\n\n", r.ConvergeError)
	}
	b.WriteString("| invariant | violations |\n|---|---|\n")
	for i := range r.inv {
		fmt.Fprintf(&b, "| %d. %s | %d |\n", i+1, invNames[i], r.inv[i].Count)
	}
	for i := range r.inv {
		if len(r.inv[i].Examples) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %d. %s\n\n", i+1, invNames[i])
		for _, e := range r.inv[i].Examples {
			fmt.Fprintf(&b, "- %s\n", e)
		}
	}
	return b.String()
}
