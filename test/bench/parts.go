package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"sort"
	"strings"
)

// A registeredPart is a figure of the bench kept in a file of its own: the
// file registers it in an init function, stores its results under its name in
// Results.Parts, and renders its own section of report.md from them. The
// original parts (latency and the throughput runs) are wired in bench.run.
type registeredPart struct {
	// name is what --parts selects and the key in Results.Parts.
	name string
	// order places the part among the others (the built-in ones are 0).
	order int
	// run measures; it stores what it found with b.save(name, v).
	run func(ctx context.Context, b *bench) error
	// section renders the part's section of report.md (p prints a line), or
	// nothing when r holds no results of it.
	section func(p printer, r *Results)
}

var registry []registeredPart

// partFlags add a registered part's own flags to the bench's; an init
// function appends to it.
var partFlags []func(fs *flag.FlagSet)

// register adds a part; called from init functions.
func register(p registeredPart) {
	registry = append(registry, p)
	sort.SliceStable(registry, func(i, j int) bool { return registry[i].order < registry[j].order })
}

// builtinParts are the names of the parts bench.run wires itself.
var builtinParts = []string{"latency", "throughput"}

// partNames lists every part --parts accepts.
func partNames() []string {
	names := append([]string(nil), builtinParts...)
	for _, p := range registry {
		names = append(names, p.name)
	}
	return names
}

// selected says whether --parts picks the part (all of them when empty).
func (o *Options) selected(name string) bool {
	if len(o.Parts) == 0 {
		return true
	}
	for _, p := range o.Parts {
		if p == name {
			return true
		}
	}
	return false
}

// validateParts checks --parts against the known names.
func (o *Options) validateParts() error {
	known := partNames()
	for _, p := range o.Parts {
		ok := false
		for _, k := range known {
			ok = ok || k == p
		}
		if !ok {
			return fmt.Errorf("--parts: unknown part %q (known: %s)", p, strings.Join(known, ", "))
		}
	}
	return nil
}

// save stores a registered part's results in results.json.
func (b *bench) save(name string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if b.results.Parts == nil {
		b.results.Parts = map[string]json.RawMessage{}
	}
	b.results.Parts[name] = raw
	return nil
}

// loadPart reads a registered part's results back; false when the run has
// none.
func loadPart(r *Results, name string, v any) bool {
	raw, ok := r.Parts[name]
	if !ok {
		return false
	}
	return json.Unmarshal(raw, v) == nil
}
