package conflict

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sort"
)

// FieldPolicy says which top-level spec fields the control plane owns.
type FieldPolicy struct {
	// ControlPlane fields are written by Crossplane on the remote claim and
	// are never pushed up: pushing a stale or empty resourceRef would make
	// Crossplane create a second composite and leak the first.
	ControlPlane []string
	// Chosen fields may be set by the user; when the local claim leaves one
	// unset, Crossplane's choice (or the schema default) flows down.
	Chosen []string
	// Crossplane are the field managers Crossplane writes remote claims
	// with. Its claim controller updates a claim (resourceRef, the
	// composition references, and with the client-side claim syncer any XR
	// spec field the claim lacks) under the client's default manager, the
	// name of its binary: "crossplane", or "crossplane-v1.20.13" for a binary
	// so named. An entry ending in * matches managers by prefix.
	Crossplane []string
	// ControlPlanePaths are control-plane fields below the top level (a
	// namespaced XR's spec.crossplane.resourceRefs, see ForXR): never pushed,
	// always brought down, never compared.
	ControlPlanePaths []Path
}

// DefaultFieldPolicy is the policy for Crossplane v1 claims.
func DefaultFieldPolicy() FieldPolicy {
	return FieldPolicy{
		ControlPlane: []string{"resourceRef", "compositionRevisionRef"},
		Chosen: []string{"compositionRef", "compositionSelector", "compositionRevisionSelector",
			"compositionUpdatePolicy", "compositeDeletePolicy"},
		Crossplane: []string{"crossplane", "crossplane-*"},
	}
}

// The fields whose owner depends on the update policy.
const (
	fieldRevisionRef  = "compositionRevisionRef"
	fieldUpdatePolicy = "compositionUpdatePolicy"
	// UpdateManual is the compositionUpdatePolicy under which the claim
	// pins its composition revision; Crossplane's default is Automatic.
	UpdateManual = "Manual"
)

// ForClaim returns the policy for one claim. Crossplane follows the
// compositionUpdatePolicy: under Manual the claim's compositionRevisionRef
// is the user's pin (a chosen field), under Automatic (the default)
// Crossplane moves it to each new revision (a control-plane field). The
// policy is the local value, else the remote one, else Automatic.
func (p FieldPolicy) ForClaim(local, remote map[string]any) FieldPolicy {
	policy, _ := local[fieldUpdatePolicy].(string)
	if policy == "" {
		policy, _ = remote[fieldUpdatePolicy].(string)
	}
	if policy != UpdateManual || !slices.Contains(p.ControlPlane, fieldRevisionRef) {
		return p
	}
	out := p
	out.ControlPlane = slices.DeleteFunc(slices.Clone(p.ControlPlane), func(k string) bool { return k == fieldRevisionRef })
	out.Chosen = append(slices.Clone(p.Chosen), fieldRevisionRef)
	return out
}

// Released lists the remote compositionRevisionRef when it is a
// control-plane field for this claim (Automatic) but the manager that
// pushes (ours) still owns something inside it: it was pinned under
// Manual. It must be removed before the push, so that Crossplane sets it
// again; a push without it would leave behind what Crossplane owns inside
// (an object without its required name). No other field is ever released:
// removing resourceRef would leak the composite.
func (p FieldPolicy) Released(remote map[string]any, owners Owners, ours string) [][]string {
	if _, ok := remote[fieldRevisionRef]; !ok || !slices.Contains(p.ControlPlane, fieldRevisionRef) {
		return nil
	}
	if slices.ContainsFunc(owners[ours], func(q Path) bool { return q[0] == fieldRevisionRef }) {
		return [][]string{{fieldRevisionRef}}
	}
	return nil
}

// named says whether the policy has a rule of its own for a top-level field.
func (p FieldPolicy) named(k string) bool {
	return slices.Contains(p.ControlPlane, k) || slices.Contains(p.Chosen, k)
}

// CrossplaneWrites lists the remote spec's subtrees that only Crossplane's
// managers own (see Owners.Sole): values its claim controller copied from
// the composite. The control-plane and chosen fields have rules of their
// own and are not listed.
func (p FieldPolicy) CrossplaneWrites(remote map[string]any, owners Owners) []Path {
	return slices.DeleteFunc(owners.Sole(remote, p.Crossplane), func(q Path) bool { return p.named(q[0]) })
}

// UpPaths is Up for a local claim whose fields that came down are given as
// paths (Owners.Sole of the local spec for the down manager): top-level ones
// decide the chosen fields as in Up, and every other value that came down
// (Crossplane's writes) stays behind too, at any depth.
func (p FieldPolicy) UpPaths(local map[string]any, fromControlPlane []Path) map[string]any {
	var top []string
	var written []Path
	for _, q := range fromControlPlane {
		if len(q) == 1 {
			top = append(top, q[0])
		}
		if !p.named(q[0]) {
			written = append(written, q)
		}
	}
	return Without(p.Up(local, top), written)
}

// DownWritten lists the Crossplane writes (from CrossplaneWrites) that come
// down to the local spec: those the user did not set locally, that is
// absent locally or inside a value that came down before.
func DownWritten(local map[string]any, crossplane, fromControlPlane []Path) []Path {
	var out []Path
	for _, q := range crossplane {
		_, set := Get(local, q)
		if !set || slices.ContainsFunc(fromControlPlane, func(f Path) bool { return hasPrefix(q, f) }) {
			out = append(out, q)
		}
	}
	return out
}

// Up returns the spec to push: the local spec without the control-plane
// fields (top-level and ControlPlanePaths) and without chosen fields whose local value came down from the
// control plane (fromControlPlane, as recorded by the local field manager).
func (p FieldPolicy) Up(local map[string]any, fromControlPlane []string) map[string]any {
	out := make(map[string]any, len(local))
	for k, v := range local {
		if slices.Contains(p.ControlPlane, k) || (slices.Contains(p.Chosen, k) && slices.Contains(fromControlPlane, k)) {
			continue
		}
		out[k] = v
	}
	return Without(out, p.ControlPlanePaths)
}

// Down returns the spec fields to write on the local claim: every
// control-plane field, and every chosen field that the user did not set.
// userSet lists the chosen fields the user owns locally.
func (p FieldPolicy) Down(remote map[string]any, userSet []string) map[string]any {
	out := map[string]any{}
	for k, v := range remote {
		if slices.Contains(p.ControlPlane, k) || (slices.Contains(p.Chosen, k) && !slices.Contains(userSet, k)) {
			out[k] = v
		}
	}
	return out
}

// SpecState is how the remote spec relates to the spec we would push.
type SpecState int

const (
	// SpecInSync: nothing to write.
	SpecInSync SpecState = iota
	// SpecLocalChanged: the local spec changed since the last push.
	SpecLocalChanged
	// SpecRemoteDrifted: the local spec did not change, but someone changed
	// the remote spec out of band; the push reverts it.
	SpecRemoteDrifted
)

func (s SpecState) String() string {
	return [...]string{"InSync", "LocalChanged", "RemoteDrifted"}[s]
}

// CompareSpec compares the spec we would push (up, from FieldPolicy.Up) with
// the remote spec. lastHash is the AnnotationSpecHash found on the remote
// object. It returns the state and the paths of remote fields that nobody
// asked for locally (added out of band) and must be removed: server-side
// apply only removes fields its own manager set. crossplane lists the
// remote values Crossplane wrote (CrossplaneWrites): those we do not push
// are neither drift nor extra, so they are never fought over.
func (p FieldPolicy) CompareSpec(up, remote map[string]any, lastHash string, crossplane []Path) (SpecState, [][]string) {
	relevant := make(map[string]any, len(remote))
	for k, v := range remote {
		_, wanted := up[k]
		if slices.Contains(p.ControlPlane, k) || (slices.Contains(p.Chosen, k) && !wanted) {
			continue
		}
		relevant[k] = v
	}
	relevant = Without(relevant, p.ControlPlanePaths)
	relevant = Without(relevant, slices.DeleteFunc(slices.Clone(crossplane), func(q Path) bool {
		_, pushed := Get(up, q)
		return pushed
	}))
	extra := extraPaths(up, relevant, nil)
	if len(extra) == 0 && EqualJSON(up, pick(relevant, up)) {
		return SpecInSync, nil
	}
	if SpecHash(up) != lastHash {
		return SpecLocalChanged, extra
	}
	return SpecRemoteDrifted, extra
}

// pick returns the entries of m whose keys are in keys.
func pick(m, keys map[string]any) map[string]any {
	out := make(map[string]any, len(keys))
	for k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// extraPaths lists the paths present in got but absent in want, descending
// into objects both sides have. Lists are compared whole.
func extraPaths(want, got map[string]any, prefix []string) [][]string {
	var out [][]string
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := append(slices.Clone(prefix), k)
		w, ok := want[k]
		if !ok {
			out = append(out, path)
			continue
		}
		wm, wok := w.(map[string]any)
		gm, gok := got[k].(map[string]any)
		if wok && gok {
			out = append(out, extraPaths(wm, gm, path)...)
		}
	}
	return out
}

// SpecHash is a short, stable hash of a spec, recorded on the remote claim.
func SpecHash(spec map[string]any) string {
	b, err := json.Marshal(spec) // map keys are sorted: stable
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// EqualJSON compares two JSON-like values, treating numbers by value
// (an int64 from one decoder equals a float64 from another).
func EqualJSON(a, b any) bool {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, x := range av {
			y, ok := bv[k]
			if !ok || !EqualJSON(x, y) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !EqualJSON(av[i], bv[i]) {
				return false
			}
		}
		return true
	}
	if ai, ok := a.(int64); ok {
		if bi, ok := b.(int64); ok {
			return ai == bi
		}
	}
	if af, ok := toFloat(a); ok {
		bf, ok := toFloat(b)
		return ok && af == bf
	}
	return a == b
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float32:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}
