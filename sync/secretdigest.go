package sync

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// digestKey is the only data key of a local Secret copy as the app cluster's
// cache holds it: the SHA-256 of its data, in place of the data. The
// connector compares its copies' data with the control plane's and never
// reads them otherwise, so the cache need not hold a second copy of every
// connection Secret (a kubeconfig or a CA is kilobytes). A Secret's keys
// cannot hold a '/', so no Secret read from the API server has this key.
const digestKey = "mcp-connector.io/data-sha256"

// digestData replaces the data of a cached Secret by their digest. A Secret
// digested already stays as it is: client-go's reflector may give an object
// of its initial list to the transform twice (once into the list it streams,
// once into the store).
func digestData(s *corev1.Secret) {
	if _, done := s.Data[digestKey]; done && len(s.Data) == 1 {
		return
	}
	if len(s.Data) > 0 {
		s.Data = map[string][]byte{digestKey: dataDigest(s.Data)}
	}
}

// digestedCopy is a copy of s as the app cluster's cache holds it: its data
// as their digest, and never copied whole.
func digestedCopy(s *corev1.Secret) *corev1.Secret {
	shallow := *s
	shallow.Data = nil
	c := shallow.DeepCopy()
	if len(s.Data) > 0 {
		c.Data = map[string][]byte{digestKey: dataDigest(s.Data)}
	}
	return c
}

// dataDigest hashes data in key order, each key and value prefixed with its
// length, so that no two different maps hash alike.
func dataDigest(data map[string][]byte) []byte {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, k := range slices.Sorted(maps.Keys(data)) {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(k)))])
		h.Write([]byte(k))
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(data[k])))])
		h.Write(data[k])
	}
	return h.Sum(nil)
}

// sameData says whether a Secret's data as read (whole from the API server,
// or digested by the cache) are data.
func sameData(read, data map[string][]byte) bool {
	if d, ok := read[digestKey]; ok && len(read) == 1 {
		return len(data) > 0 && bytes.Equal(d, dataDigest(data))
	}
	return maps.EqualFunc(read, data, bytesEqual)
}
