package sync

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSameData(t *testing.T) {
	data := map[string][]byte{"endpoint": []byte("db.example.org"), "password": []byte("s3cret")}
	digested := func(d map[string][]byte) map[string][]byte {
		s := &corev1.Secret{Data: d}
		digestData(s)
		return s.Data
	}
	cases := map[string]struct {
		read, data map[string][]byte
		want       bool
	}{
		"Whole, equal":            {read: data, data: map[string][]byte{"password": []byte("s3cret"), "endpoint": []byte("db.example.org")}, want: true},
		"Whole, a value changed":  {read: data, data: map[string][]byte{"endpoint": []byte("db.example.org"), "password": []byte("rotated")}},
		"Whole, both empty":       {read: nil, data: map[string][]byte{}, want: true},
		"Digest, equal":           {read: digested(data), data: map[string][]byte{"password": []byte("s3cret"), "endpoint": []byte("db.example.org")}, want: true},
		"Digest, a value changed": {read: digested(data), data: map[string][]byte{"endpoint": []byte("db.example.org"), "password": []byte("rotated")}},
		"Digest, a key added":     {read: digested(data), data: map[string][]byte{"endpoint": []byte("db.example.org"), "password": []byte("s3cret"), "port": []byte("5432")}},
		"Digest, a key dropped":   {read: digested(data), data: map[string][]byte{"endpoint": []byte("db.example.org")}},
		"Digest, data now empty":  {read: digested(data), data: nil},
		"Digest, bytes moved from a value to its key": {
			read: digested(map[string][]byte{"ab": []byte("c")}), data: map[string][]byte{"a": []byte("bc")}},
		"Digest, bytes moved between two entries": {
			read: digested(map[string][]byte{"a": []byte("xy"), "b": nil}), data: map[string][]byte{"a": []byte("x"), "b": []byte("y")}},
		"Empty data are not digested": {read: digested(map[string][]byte{}), data: nil, want: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := sameData(tc.read, tc.data); got != tc.want {
				t.Errorf("sameData(%v, %v) = %v, want %v", tc.read, tc.data, got, tc.want)
			}
		})
	}
}

// The app cluster's cache holds our Secret copies with a digest in place of
// their data: one key, 32 bytes, whatever their size.
func TestTransformLocalDigestsSecrets(t *testing.T) {
	kubeconfig := make([]byte, 6<<10)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-conn", Namespace: "team-a"},
		Data: map[string][]byte{"kubeconfig": kubeconfig, "endpoint": []byte("https://db.example.org")}}
	whole := s.DeepCopy().Data
	p := packedByTransform(t, TransformLocal, s)
	if len(p.raw) > 256 {
		t.Errorf("the cache holds %d bytes of the Secret, want its digest, not its %d bytes of data", len(p.raw), len(whole["kubeconfig"]))
	}
	read := p.DeepCopyObject().(*corev1.Secret)
	if len(read.Data) != 1 || len(read.Data[digestKey]) != 32 {
		t.Fatalf("cached data = %d keys (%q: %d bytes), want the one digest of 32 bytes", len(read.Data), digestKey, len(read.Data[digestKey]))
	}
	if !sameData(read.Data, whole) {
		t.Error("the cached digest does not match the Secret's own data")
	}
	// The reflector may transform an object of its initial list twice, and
	// an unpacked Secret already digested stays as it is.
	again := packedByTransform(t, TransformLocal, p.DeepCopyObject().(*corev1.Secret))
	if !sameData(again.DeepCopyObject().(*corev1.Secret).Data, whole) {
		t.Error("transformed twice, the cached digest no longer matches the Secret's own data")
	}
	whole["kubeconfig"][0] = 1
	if sameData(read.Data, whole) {
		t.Error("the cached digest matches data that changed")
	}
}

// The copy of a fresh create that the connector keeps is the cache's form of
// it; the Secret it was made from keeps its data.
func TestDigestedCopy(t *testing.T) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-conn", Namespace: "team-a", UID: "1", ResourceVersion: "7",
		Labels: map[string]string{"mcp-connector.io/managed": "true"}},
		Type: ConnectionSecretType, Data: map[string][]byte{"password": []byte("s3cret")}}
	c := digestedCopy(s)
	cached := packedByTransform(t, TransformLocal, s.DeepCopy()).DeepCopyObject().(*corev1.Secret)
	if diff := cmp.Diff(cached, c); diff != "" {
		t.Errorf("the copy differs from what the cache holds: -cache +copy:\n%s", diff)
	}
	if string(s.Data["password"]) != "s3cret" || len(s.Data) != 1 {
		t.Errorf("the original's data changed: %v", s.Data)
	}
	c.Labels["x"] = "y"
	if _, ok := s.Labels["x"]; ok {
		t.Error("the copy shares its labels with the original")
	}
	if got := digestedCopy(&corev1.Secret{}); got.Data != nil {
		t.Errorf("a Secret without data: copy has data %v, want none", got.Data)
	}
}
