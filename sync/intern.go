package sync

import (
	stdsync "sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// The caches hold claims packed (packed.go) and Secrets decoded. What
// repeats across them is held once: the API versions, kinds and namespaces
// of packed claims and their ControlPlaneSynced reasons, and of Secrets
// their namespace, type, label, annotation and data keys, the connector's
// marks' values and their owners' API version and kind. The decoder gives
// every one of them a string of its own: 10,000 Secrets would carry 10,000
// copies of each.
//
// Sharing is safe because nothing writes to an object in a cache: the
// caches' readers get deep copies (controller-runtime's default, which the
// connector never turns off), and event handlers only read.

// maxInterned bounds the table of strings (at most about 1 MiB): a
// connector's keys and repeating values number in the hundreds; past the
// bound, strings stay as decoded.
const maxInterned = 1 << 14

// internedValues are the label and annotation keys whose values are
// shared: the connector's marks whose value is the same on many objects.
var internedValues = map[string]bool{
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
