package conflict

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// remoteClaim is a remote claim as the simulation sees it: its spec and the
// spec-hash annotation of the last push.
type remoteClaim struct {
	spec map[string]any
	hash string
}

// push does with the decisions of this package what sync's push does:
// nothing when in sync; otherwise apply the wanted spec (server-side apply
// merges objects, so fields other managers set survive), remove the extra
// paths, and record the hash of what was pushed. It returns the decision.
func (r *remoteClaim) push(p FieldPolicy, up map[string]any) SpecState {
	state, extra := p.CompareSpec(up, r.spec, r.hash)
	if state == SpecInSync {
		return state
	}
	merge(r.spec, up)
	for _, path := range extra {
		removePath(r.spec, path)
	}
	r.hash = SpecHash(up)
	return state
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		d, dok := dst[k].(map[string]any)
		s, sok := v.(map[string]any)
		if dok && sok {
			merge(d, s)
			continue
		}
		dst[k] = deepCopy(v)
	}
}

func removePath(m map[string]any, path []string) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	delete(m, path[len(path)-1])
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// localClaim is the local spec and the fields that came down from the
// control plane (what sync reads from the down field manager).
type localClaim struct {
	spec   map[string]any
	fromCP []string
}

// pull does what sync's pullSpec does: the control plane's fields and the
// chosen fields the user did not set come down, owned by the down manager.
func (l *localClaim) pull(p FieldPolicy, remote map[string]any) {
	var userSet []string
	for k := range l.spec {
		if !slices.Contains(l.fromCP, k) {
			userSet = append(userSet, k)
		}
	}
	down := p.Down(remote, userSet)
	for _, k := range l.fromCP {
		delete(l.spec, k)
	}
	maps.Copy(l.spec, deepCopy(down).(map[string]any))
	l.fromCP = slices.Sorted(maps.Keys(down))
}

func (l *localClaim) up(p FieldPolicy) map[string]any {
	return p.Up(l.spec, l.fromCP)
}

// TestNoPingPong plays a remote writer that keeps changing the remote spec
// against a connector that keeps pushing. With the last-push hash every
// decision is determined by the inputs, each push converges in one write
// (after applying the desired spec CompareSpec says InSync), and neither the
// control plane's own fields nor its choices ever cause a write.
func TestNoPingPong(t *testing.T) {
	first := play(t)
	want := []string{
		"first push: LocalChanged",
		"crossplane binds and defaults: InSync",
		"fields come down: InSync",
		"writer 0 edits spec: RemoteDrifted",
		"writer 1 edits spec: RemoteDrifted",
		"writer 2 edits spec: RemoteDrifted",
		"writer 3 edits spec: RemoteDrifted",
		"writer 4 edits spec: RemoteDrifted",
		"crossplane rebinds resourceRef: InSync",
		"user and writer edit size: LocalChanged",
		"writer edits and reverts itself: InSync",
		"user sets compositionUpdatePolicy: LocalChanged",
		"writer resets compositionUpdatePolicy: RemoteDrifted",
		"fields come down again: InSync",
	}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("decisions: -want, +got:\n%s", diff)
	}
	for i := range 5 {
		if diff := cmp.Diff(first, play(t)); diff != "" {
			t.Fatalf("run %d decided differently from the first: -want, +got:\n%s", i+2, diff)
		}
	}
}

// play runs the scenario once and returns its decisions.
func play(t *testing.T) []string {
	t.Helper()
	p := DefaultFieldPolicy()
	local := &localClaim{spec: map[string]any{
		"parameters":                 map[string]any{"size": "small", "count": int64(2)},
		"writeConnectionSecretToRef": map[string]any{"name": "app-1-abc"},
	}}
	remote := &remoteClaim{spec: map[string]any{}}
	var log []string
	step := func(what string, change func()) {
		t.Helper()
		if change != nil {
			change()
		}
		state := remote.push(p, local.up(p))
		log = append(log, what+": "+state.String())
		// A push converges in one write: pushing again finds nothing to do.
		if again, extra := p.CompareSpec(local.up(p), remote.spec, remote.hash); again != SpecInSync {
			t.Errorf("%s: after the push CompareSpec says %v (extra %v); want InSync", what, again, extra)
		}
	}
	params := func() map[string]any { return remote.spec["parameters"].(map[string]any) }

	step("first push", nil)
	step("crossplane binds and defaults", func() {
		remote.spec["resourceRef"] = map[string]any{"name": "db-x1"}
		remote.spec["compositionRevisionRef"] = map[string]any{"name": "aws-1"}
		remote.spec["compositionRef"] = map[string]any{"name": "aws"}
		remote.spec["compositionUpdatePolicy"] = "Automatic"
		remote.spec["compositeDeletePolicy"] = "Background"
	})
	step("fields come down", func() { local.pull(p, remote.spec) })
	for i := range 5 {
		step(fmt.Sprintf("writer %d edits spec", i), func() {
			params()["size"] = fmt.Sprintf("large-%d", i)
			params()["count"] = float64(i + 10)
			params()[fmt.Sprintf("extra%d", i)] = true
			remote.spec["debug"] = map[string]any{"level": int64(i)}
		})
	}
	step("crossplane rebinds resourceRef", func() {
		remote.spec["resourceRef"] = map[string]any{"name": "db-x2"}
	})
	step("user and writer edit size", func() {
		local.spec["parameters"].(map[string]any)["size"] = "medium"
		params()["size"] = "huge"
	})
	step("writer edits and reverts itself", func() {
		params()["size"] = "huge"
		params()["size"] = "medium"
	})
	step("user sets compositionUpdatePolicy", func() {
		local.spec["compositionUpdatePolicy"] = "Manual"
		local.fromCP = slices.DeleteFunc(local.fromCP, func(k string) bool { return k == "compositionUpdatePolicy" })
	})
	step("writer resets compositionUpdatePolicy", func() {
		remote.spec["compositionUpdatePolicy"] = "Automatic"
	})
	step("fields come down again", func() { local.pull(p, remote.spec) })

	// The end state: the user's spec, the control plane's own fields and
	// choices, nothing from the writer.
	wantRemote := map[string]any{
		"parameters":                 map[string]any{"size": "medium", "count": int64(2)},
		"writeConnectionSecretToRef": map[string]any{"name": "app-1-abc"},
		"resourceRef":                map[string]any{"name": "db-x2"},
		"compositionRevisionRef":     map[string]any{"name": "aws-1"},
		"compositionRef":             map[string]any{"name": "aws"},
		"compositionUpdatePolicy":    "Manual",
		"compositeDeletePolicy":      "Background",
	}
	if diff := cmp.Diff(wantRemote, remote.spec); diff != "" {
		t.Errorf("remote spec at the end: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(wantRemote, local.spec); diff != "" {
		t.Errorf("local spec at the end: -want, +got:\n%s", diff)
	}
	return log
}
