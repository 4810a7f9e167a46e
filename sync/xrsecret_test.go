package sync

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestXRSecretName(t *testing.T) {
	long := strings.Repeat("a", 253)
	cases := map[string]struct {
		reason     string
		xr, secret string
		wantPrefix string
	}{
		"Short": {
			reason: "XR name and Secret name joined by a dash, then the hash.",
			xr:     "db", secret: "db-x7k2-conn", wantPrefix: "db-db-x7k2-conn-",
		},
		"Long": {
			reason: "A 253-character XR name keeps a 50-character prefix.",
			xr:     long, secret: "s", wantPrefix: strings.Repeat("a", 50) + "-",
		},
		"Dots": {
			reason: "Dots become dashes.",
			xr:     "my.db", secret: "a.b", wantPrefix: "my-db-a-b-",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := XRSecretName("example.org", "Database", tc.xr, tc.secret)
			if !strings.HasPrefix(got, tc.wantPrefix) || len(got) != len(tc.wantPrefix)+hashLength {
				t.Errorf("%s\nXRSecretName(%q, %q) = %q, want %q + %d hash characters", tc.reason, tc.xr, tc.secret, got, tc.wantPrefix, hashLength)
			}
			if msgs := validation.IsDNS1123Label(got); len(msgs) > 0 {
				t.Errorf("XRSecretName(...) = %q is not a DNS label: %v", got, msgs)
			}
		})
	}
	seen := map[string]string{}
	for _, in := range [][4]string{
		{"example.org", "Database", "db", "x-conn"},
		{"example.org", "Database", "db-x", "conn"}, // same joined text, other split
		{"example.org", "Cache", "db", "x-conn"},    // other kind
		{"other.org", "Database", "db", "x-conn"},   // other group
		{"example.org", "Database", "db", "x-conn2"},
	} {
		got := XRSecretName(in[0], in[1], in[2], in[3])
		if prev, ok := seen[got]; ok {
			t.Errorf("XRSecretName(%v) = %q collides with %s", in, got, prev)
		}
		seen[got] = strings.Join(in[:], "/")
	}
	if got, want := XRSecretName("example.org", "Database", "db", "db-conn"), "db-db-conn-"+digest("example.org", "Database", "db", "db-conn"); got != want {
		t.Errorf("XRSecretName is not the documented <prefix>-<hash>: got %q, want %q", got, want)
	}
}

func TestComposedSecrets(t *testing.T) {
	xr := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"crossplane": map[string]any{
		"resourceRefs": []any{
			map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "db-cm"},
			map[string]any{"apiVersion": "v1", "kind": "Secret", "name": "db-conn"},
			map[string]any{"apiVersion": "example.org/v1", "kind": "Secret", "name": "not-core"},
			map[string]any{"apiVersion": "v1", "kind": "Secret"},
			"garbage",
			map[string]any{"apiVersion": "v1", "kind": "Secret", "name": "db-tls"},
		}}}}}
	if diff := cmp.Diff([]string{"db-conn", "db-tls"}, composedSecrets(xr)); diff != "" {
		t.Errorf("composedSecrets: only core Secrets with a name: -want, +got:\n%s", diff)
	}
	if got := composedSecrets(&unstructured.Unstructured{Object: map[string]any{}}); got != nil {
		t.Errorf("composedSecrets of an XR without refs: want none, got %v", got)
	}
}
