package conflict

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// driftStep is one moment of a claim's life, as the two API servers hold it,
// and what this package must decide about it.
type driftStep struct {
	name string
	// local is the local spec; fromCP the fields the down field manager owns
	// on it (the rest the user set).
	local  map[string]any
	fromCP []string
	// remote is the remote spec as the control plane holds it before the
	// connector looks.
	remote map[string]any

	// wantUp is what Up pushes; wantState and wantExtra what CompareSpec
	// decides against remote and the hash of the last push.
	wantUp    map[string]any
	wantState SpecState
	wantExtra [][]string
	// pushed is the remote spec once the push wrote wantUp (server-side
	// apply keeps the fields other managers own) and removed wantExtra:
	// written out here, not computed. Only for steps that push.
	pushed map[string]any
	// wantDown is what Down brings down from the remote spec as the step
	// leaves it.
	wantDown map[string]any
}

// TestNoPingPong plays a claim through Crossplane's bindings and defaults, a
// remote writer that keeps changing the spec, and a user who changes it too,
// and drives Up, CompareSpec, SpecHash and Down with each state. A writer's
// change is reverted as drift (not taken for a local change), a push
// converges in one write (against the spec it leaves, with its hash,
// CompareSpec says InSync), and neither Crossplane's own fields nor its
// choices ever make a write.
func TestNoPingPong(t *testing.T) {
	p := DefaultFieldPolicy()
	lastHash := "" // the spec-hash annotation on the remote claim
	for _, s := range driftScenario() {
		up := p.Up(s.local, s.fromCP)
		if diff := cmp.Diff(s.wantUp, up); diff != "" {
			t.Errorf("%s: Up: -want +got:\n%s", s.name, diff)
		}
		state, extra := p.CompareSpec(up, s.remote, lastHash, nil)
		if diff := cmp.Diff(s.wantState.String(), state.String()); diff != "" {
			t.Errorf("%s: CompareSpec state: -want +got:\n%s", s.name, diff)
		}
		if diff := cmp.Diff(s.wantExtra, extra); diff != "" {
			t.Errorf("%s: CompareSpec extra paths: -want +got:\n%s", s.name, diff)
		}
		// The same inputs, the same decision: nothing depends on map order.
		for range 5 {
			again, extraAgain := p.CompareSpec(up, s.remote, lastHash, nil)
			if again != state || !cmp.Equal(extra, extraAgain) {
				t.Fatalf("%s: CompareSpec decided %v %v, then %v %v on the same inputs", s.name, state, extra, again, extraAgain)
			}
		}
		after := s.remote
		if state != SpecInSync {
			lastHash, after = SpecHash(up), s.pushed
			if again, extra := p.CompareSpec(up, after, lastHash, nil); again != SpecInSync || extra != nil {
				t.Errorf("%s: after the push CompareSpec says %v (extra %v), want InSync: the push would repeat", s.name, again, extra)
			}
		}
		var userSet []string
		for k := range s.local {
			if !slices.Contains(s.fromCP, k) {
				userSet = append(userSet, k)
			}
		}
		if diff := cmp.Diff(s.wantDown, p.Down(after, userSet)); diff != "" {
			t.Errorf("%s: Down: -want +got:\n%s", s.name, diff)
		}
	}
}

// driftScenario is the life of one claim, step by step.
func driftScenario() []driftStep {
	params := func(size string, count any, extra ...string) map[string]any {
		m := map[string]any{"size": size, "count": count}
		for _, k := range extra {
			m[k] = true
		}
		return m
	}
	secret := map[string]any{"name": "app-1-abc"}
	// user is what the user wrote; with returns spec plus key/value pairs,
	// without spec less keys, bound spec with Crossplane's fields.
	user := func(size string) map[string]any {
		return map[string]any{"parameters": params(size, int64(2)), "writeConnectionSecretToRef": secret}
	}
	with := func(spec map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range spec {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	without := func(spec map[string]any, keys ...string) map[string]any {
		out := with(spec)
		for _, k := range keys {
			delete(out, k)
		}
		return out
	}
	bound := func(spec map[string]any, xr, policy string) map[string]any {
		return with(spec,
			"resourceRef", map[string]any{"name": xr},
			"compositionRevisionRef", map[string]any{"name": "aws-1"},
			"compositionRef", map[string]any{"name": "aws"},
			"compositionUpdatePolicy", policy,
			"compositeDeletePolicy", "Background")
	}
	crossplane := func(xr, policy string) map[string]any { return bound(map[string]any{}, xr, policy) }
	allFromCP := []string{"compositeDeletePolicy", "compositionRef", "compositionRevisionRef", "compositionUpdatePolicy", "resourceRef"}
	butPolicy := []string{"compositeDeletePolicy", "compositionRef", "compositionRevisionRef", "resourceRef"}

	return []driftStep{{
		name:  "first push",
		local: user("small"), remote: map[string]any{},
		wantUp: user("small"), wantState: SpecLocalChanged,
		pushed:   user("small"),
		wantDown: map[string]any{},
	}, {
		name:  "Crossplane binds and defaults",
		local: user("small"), remote: bound(user("small"), "db-x1", "Automatic"),
		wantUp: user("small"), wantState: SpecInSync,
		wantDown: crossplane("db-x1", "Automatic"),
	}, {
		name:  "its fields came down",
		local: bound(user("small"), "db-x1", "Automatic"), fromCP: allFromCP, remote: bound(user("small"), "db-x1", "Automatic"),
		wantUp: user("small"), wantState: SpecInSync,
		wantDown: crossplane("db-x1", "Automatic"),
	}, {
		name:  "a writer edits the remote spec",
		local: bound(user("small"), "db-x1", "Automatic"), fromCP: allFromCP,
		remote: bound(map[string]any{"parameters": params("large", float64(10), "extra"), "writeConnectionSecretToRef": secret,
			"debug": map[string]any{"level": int64(1)}}, "db-x1", "Automatic"),
		wantUp: user("small"), wantState: SpecRemoteDrifted, wantExtra: [][]string{{"debug"}, {"parameters", "extra"}},
		pushed:   bound(user("small"), "db-x1", "Automatic"),
		wantDown: crossplane("db-x1", "Automatic"),
	}, {
		name:  "the writer edits it again",
		local: bound(user("small"), "db-x1", "Automatic"), fromCP: allFromCP,
		remote: bound(map[string]any{"parameters": params("large", int64(11)), "writeConnectionSecretToRef": map[string]any{"name": "elsewhere"}}, "db-x1", "Automatic"),
		wantUp: user("small"), wantState: SpecRemoteDrifted,
		pushed:   bound(user("small"), "db-x1", "Automatic"),
		wantDown: crossplane("db-x1", "Automatic"),
	}, {
		name:  "Crossplane rebinds resourceRef",
		local: bound(user("small"), "db-x1", "Automatic"), fromCP: allFromCP, remote: bound(user("small"), "db-x2", "Automatic"),
		wantUp: user("small"), wantState: SpecInSync,
		wantDown: crossplane("db-x2", "Automatic"),
	}, {
		name:  "the user and the writer both change size",
		local: bound(user("medium"), "db-x2", "Automatic"), fromCP: allFromCP,
		remote: bound(user("huge"), "db-x2", "Automatic"),
		wantUp: user("medium"), wantState: SpecLocalChanged,
		pushed:   bound(user("medium"), "db-x2", "Automatic"),
		wantDown: crossplane("db-x2", "Automatic"),
	}, {
		name:  "a number comes back as a float",
		local: bound(user("medium"), "db-x2", "Automatic"), fromCP: allFromCP,
		remote: bound(map[string]any{"parameters": params("medium", float64(2)), "writeConnectionSecretToRef": secret}, "db-x2", "Automatic"),
		wantUp: user("medium"), wantState: SpecInSync,
		wantDown: crossplane("db-x2", "Automatic"),
	}, {
		name:  "the user sets compositionUpdatePolicy",
		local: bound(user("medium"), "db-x2", "Manual"), fromCP: butPolicy,
		remote: bound(user("medium"), "db-x2", "Automatic"),
		wantUp: with(user("medium"), "compositionUpdatePolicy", "Manual"), wantState: SpecLocalChanged,
		pushed:   bound(user("medium"), "db-x2", "Manual"),
		wantDown: without(crossplane("db-x2", "Manual"), "compositionUpdatePolicy"),
	}, {
		name:  "the writer resets compositionUpdatePolicy",
		local: bound(user("medium"), "db-x2", "Manual"), fromCP: butPolicy,
		remote: bound(user("medium"), "db-x2", "Automatic"),
		wantUp: with(user("medium"), "compositionUpdatePolicy", "Manual"), wantState: SpecRemoteDrifted,
		pushed:   bound(user("medium"), "db-x2", "Manual"),
		wantDown: without(crossplane("db-x2", "Manual"), "compositionUpdatePolicy"),
	}}
}
