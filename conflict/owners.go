package conflict

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
)

// Path is a path of field names inside a claim's spec.
type Path []string

// Owners maps each field manager to the spec paths it owns on one object,
// as its managedFields record them.
type Owners map[string][]Path

// Add records the spec paths of one managedFields entry (its fieldsV1).
func (o Owners) Add(manager string, fieldsV1 []byte) {
	var root map[string]json.RawMessage
	if json.Unmarshal(fieldsV1, &root) != nil {
		return
	}
	if spec, ok := root["f:spec"]; ok {
		o[manager] = append(o[manager], fieldPaths(spec, nil)...)
	}
}

// AddFields is Add for an entry's fieldsV1 already decoded, as an
// unstructured object holds it: the same paths, without encoding it to JSON
// and parsing it again at every depth.
func (o Owners) AddFields(manager string, fieldsV1 map[string]any) {
	if spec, ok := fieldsV1["f:spec"]; ok {
		o[manager] = append(o[manager], fieldPathsOf(spec, nil)...)
	}
}

// fieldPathsOf is fieldPaths over a decoded node.
func fieldPathsOf(node any, prefix Path) []Path {
	m, ok := node.(map[string]any)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if strings.HasPrefix(k, "f:") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []Path
	for _, k := range keys {
		p := append(slices.Clone(prefix), k[2:])
		out = append(out, p)
		out = append(out, fieldPathsOf(m[k], p)...)
	}
	return out
}

// fieldPaths lists every field node under a fieldsV1 node. List members
// (k:, v:, i:) are not descended: a list is owned whole.
func fieldPaths(raw json.RawMessage, prefix Path) []Path {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Path
	for _, k := range keys {
		name, ok := strings.CutPrefix(k, "f:")
		if !ok {
			continue
		}
		p := append(slices.Clone(prefix), name)
		out = append(out, p)
		out = append(out, fieldPaths(m[k], p)...)
	}
	return out
}

// under lists the managers that own p or anything inside it.
func (o Owners) under(p Path) []string {
	var out []string
	for m, paths := range o {
		if slices.ContainsFunc(paths, func(q Path) bool { return hasPrefix(q, p) }) {
			out = append(out, m)
		}
	}
	return out
}

// Sole lists the largest subtrees of spec that only managers in set own
// (an entry ending in * is a prefix):
// objects are descended where owners are mixed, lists and values are taken
// whole. Subtrees nobody owns are not listed.
func (o Owners) Sole(spec map[string]any, set []string) []Path {
	return o.sole(spec, nil, set)
}

func (o Owners) sole(m map[string]any, prefix Path, set []string) []Path {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Path
	for _, k := range keys {
		p := append(slices.Clone(prefix), k)
		owners := o.under(p)
		switch {
		case len(owners) == 0:
		case !slices.ContainsFunc(owners, func(m string) bool { return !inSet(set, m) }):
			out = append(out, p)
		default:
			if child, ok := m[k].(map[string]any); ok {
				out = append(out, o.sole(child, p, set)...)
			}
		}
	}
	return out
}

// inSet says whether manager m is in set; an entry ending in * matches
// every manager that starts with the text before it.
func inSet(set []string, m string) bool {
	return slices.ContainsFunc(set, func(e string) bool {
		if prefix, ok := strings.CutSuffix(e, "*"); ok {
			return strings.HasPrefix(m, prefix)
		}
		return e == m
	})
}

// hasPrefix says whether p starts with prefix (or equals it).
func hasPrefix(p, prefix Path) bool {
	return len(p) >= len(prefix) && slices.Equal(p[:len(prefix)], prefix)
}

// Get returns the value at p in m.
func Get(m map[string]any, p Path) (any, bool) {
	var v any = m
	for _, k := range p {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// Set writes v at p in m, creating objects on the way; m is modified.
func Set(m map[string]any, p Path, v any) {
	for _, k := range p[:len(p)-1] {
		child, ok := m[k].(map[string]any)
		if !ok {
			child = map[string]any{}
			m[k] = child
		}
		m = child
	}
	m[p[len(p)-1]] = v
}

// Without returns m without the values at paths. m is not modified: objects
// on the way to a removed value are copied.
func Without(m map[string]any, paths []Path) map[string]any {
	out := m
	for _, p := range paths {
		out = withoutPath(out, p)
	}
	return out
}

func withoutPath(m map[string]any, p Path) map[string]any {
	v, ok := m[p[0]]
	if !ok {
		return m
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		out[k] = x
	}
	if len(p) == 1 {
		delete(out, p[0])
		return out
	}
	if child, ok := v.(map[string]any); ok {
		out[p[0]] = withoutPath(child, p[1:])
	}
	return out
}
