package sync

import (
	stdsync "sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// The caches hold every claim twice (local and remote) as maps decoded from
// JSON, and the decoder gives every map key and string value a string of its
// own: 10,000 claims carry 20,000 copies of "apiVersion", of
// "creationTimestamp", of each condition's "type", "status" and "reason", of
// the cluster-id label's value. The cache transforms replace them with one
// shared copy each: every map key, and the values of the fields whose values
// repeat across objects (internedValues). The objects stay as they were, by
// value. Likewise the fieldsV1 of the managedFields entries the transforms
// keep: claims of a kind have the same few, and each costs a map per field,
// so identical ones share one map.
//
// Sharing is safe because nothing writes to an object in a cache: the
// caches' readers get deep copies (controller-runtime's default, which the
// connector never turns off), and event handlers only read.

// maxInterned bounds the table of strings (at most about 1 MiB): a
// connector's keys and repeating values number in the hundreds; past the
// bound, strings stay as decoded. maxSharedFields bounds the table of
// fieldsV1 maps (a few KiB each), which keeps them after their objects go:
// claims of a kind have a few.
const (
	maxInterned     = 1 << 14
	maxSharedFields = 1 << 10
)

// internedValues are the keys whose string values are shared: API versions,
// kinds, namespaces, condition and Secret types, statuses and reasons, field
// managers, finalizers, the enums Crossplane defaults, and the connector's
// marks whose value is the same on many objects (the cluster-id and
// claim-namespace labels and annotations share their keys).
var internedValues = map[string]bool{
	"apiVersion": true, "kind": true, "namespace": true,
	"type": true, "status": true, "reason": true,
	"manager": true, "operation": true, "subresource": true, "fieldsType": true,
	"compositionUpdatePolicy": true, "compositeDeletePolicy": true, "finalizers": true,
	conflict.LabelClusterID: true, conflict.LabelClaimNamespace: true, conflict.LabelManaged: true,
	conflict.LabelConnection: true, conflict.AnnotationControlPlane: true, conflict.AnnotationXRD: true,
}

// shared is the process's table of shared strings.
var shared = &stringTable{m: map[string]string{}, max: maxInterned}

// stringTable maps a string to its shared copy.
type stringTable struct {
	mu  stdsync.RWMutex
	m   map[string]string
	max int
}

// get returns the shared copy of s, adding s while the table has room.
func (t *stringTable) get(s string) string {
	t.mu.RLock()
	v, ok := t.m[s]
	t.mu.RUnlock()
	if ok {
		return v
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if v, ok := t.m[s]; ok {
		return v
	}
	if len(t.m) >= t.max {
		return s
	}
	s = string([]byte(s)) // its own bytes, never a slice of a larger buffer
	t.m[s] = s
	return s
}

// internObject shares the keys and the repeating values of a decoded object
// in place, except in its managedFields (setManagedFields').
func internObject(obj map[string]any) {
	for k, v := range obj {
		if md, ok := v.(map[string]any); ok && k == "metadata" {
			internMetadata(md)
		} else {
			v = internValue(k, v)
		}
		// Storing under an equal key keeps the map's entry and replaces the
		// key's string with the one given (the runtime updates string keys).
		obj[shared.get(k)] = v
	}
}

func internMetadata(md map[string]any) {
	for k, v := range md {
		if k != "managedFields" {
			v = internValue(k, v)
		}
		md[shared.get(k)] = v
	}
}

// internMap shares the keys and the repeating values of m in place.
func internMap(m map[string]any) {
	for k, v := range m {
		m[shared.get(k)] = internValue(k, v)
	}
}

// internValue returns v with its keys shared and, under a key of
// internedValues, its string shared.
func internValue(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		internMap(x)
	case []any:
		for i, e := range x {
			x[i] = internValue(key, e) // a list of strings, as finalizers, like its key
		}
	case string:
		if internedValues[key] {
			return sharedBoxes.get(x)
		}
	}
	return v
}

// sharedBoxes holds the shared strings boxed as map values: an any that
// holds a string points to a string header of its own, so a value shared by
// every object takes one header, not one an object.
var sharedBoxes = &boxTable{m: map[string]any{}, max: maxInterned}

type boxTable struct {
	mu  stdsync.RWMutex
	m   map[string]any
	max int
}

// get returns the shared box of s's shared copy, adding it while the table
// has room.
func (t *boxTable) get(s string) any {
	t.mu.RLock()
	v, ok := t.m[s]
	t.mu.RUnlock()
	if ok {
		return v
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if v, ok := t.m[s]; ok {
		return v
	}
	s = shared.get(s)
	if len(t.m) >= t.max {
		return s
	}
	var boxed any = s
	t.m[s] = boxed
	return boxed
}

// internStringMap shares the keys of a label, annotation or data map, and
// the values of keys in internedValues.
func internStringMap(m map[string]string) {
	for k, v := range m {
		if internedValues[k] {
			v = shared.get(v)
		}
		m[shared.get(k)] = v
	}
}

// internSecret shares what a cached Secret has in common with the others:
// its namespace, type, label and annotation keys (and the connector's marks'
// values), data keys, and its owner references' API version and kind.
func internSecret(s *corev1.Secret) {
	s.Namespace = shared.get(s.Namespace)
	s.Type = corev1.SecretType(shared.get(string(s.Type)))
	internStringMap(s.Labels)
	internStringMap(s.Annotations)
	for k, v := range s.Data {
		s.Data[shared.get(k)] = v
	}
	for i := range s.OwnerReferences {
		s.OwnerReferences[i].APIVersion = shared.get(s.OwnerReferences[i].APIVersion)
		s.OwnerReferences[i].Kind = shared.get(s.OwnerReferences[i].Kind)
	}
}

// fieldsTable maps the JSON of a fieldsV1 to its shared decoded map. A
// shared map is never written to again.
var fieldsTable = &mapTable{m: map[string]map[string]any{}, max: maxSharedFields}

type mapTable struct {
	mu  stdsync.Mutex
	m   map[string]map[string]any
	max int
}

// get returns the shared map for raw, or decoded, made the shared one if the
// table has room, when there is none yet. decoded must not be written to
// once given.
func (t *mapTable) get(raw string, decoded func() map[string]any) map[string]any {
	t.mu.Lock()
	v, ok := t.m[raw]
	t.mu.Unlock()
	if ok {
		return v
	}
	d := decoded()
	t.mu.Lock()
	defer t.mu.Unlock()
	if v, ok := t.m[raw]; ok {
		return v
	}
	if len(t.m) < t.max {
		t.m[raw] = d
	}
	return d
}

// setManagedFields sets the kept entries on u, their keys and repeating
// values shared, and their fieldsV1 the map of every identical fieldsV1
// cached before.
func setManagedFields(u *unstructured.Unstructured, kept []metav1.ManagedFieldsEntry) {
	u.SetManagedFields(kept)
	md, _ := u.Object["metadata"].(map[string]any)
	list, _ := md["managedFields"].([]any)
	if len(list) != len(kept) {
		return
	}
	for i, e := range list {
		entry, ok := e.(map[string]any)
		if !ok {
			continue
		}
		for k, v := range entry {
			if k != "fieldsV1" {
				entry[shared.get(k)] = internValue(k, v)
			}
		}
		decoded, ok := entry["fieldsV1"].(map[string]any)
		if !ok || kept[i].FieldsV1 == nil {
			continue
		}
		entry[shared.get("fieldsV1")] = fieldsTable.get(string(kept[i].FieldsV1.Raw), func() map[string]any {
			internMap(decoded)
			return decoded
		})
	}
}
