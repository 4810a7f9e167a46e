package sync

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestRemoteName(t *testing.T) {
	long := strings.Repeat("a", 253)
	cases := map[string]struct {
		reason     string
		cluster    string
		namespace  string
		name       string
		wantPrefix string
	}{
		"Short": {
			reason:  "A short name is kept whole as the readable prefix.",
			cluster: "c1", namespace: "team-a", name: "db", wantPrefix: "db-",
		},
		"Longest": {
			reason:  "A 253-character name keeps a 50-character prefix.",
			cluster: "c1", namespace: "team-a", name: long, wantPrefix: strings.Repeat("a", 50) + "-",
		},
		"Dots": {
			reason:  "Dots, valid in claim names, become dashes.",
			cluster: "c1", namespace: "ns", name: "my.db.v2", wantPrefix: "my-db-v2-",
		},
		"UpperAndEdges": {
			reason:  "Leading and trailing dashes are trimmed.",
			cluster: "c1", namespace: "ns", name: "-x-", wantPrefix: "x-",
		},
		"CutOnDash": {
			reason:  "A prefix cut right after a dash does not end in two dashes.",
			cluster: "c1", namespace: "ns", name: strings.Repeat("b", 49) + "-" + strings.Repeat("c", 40), wantPrefix: strings.Repeat("b", 49) + "-",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := RemoteName(tc.cluster, tc.namespace, tc.name)
			if !strings.HasPrefix(got, tc.wantPrefix) {
				t.Errorf("%s\nRemoteName(...) = %q, want prefix %q", tc.reason, got, tc.wantPrefix)
			}
			if strings.Contains(got, "--") {
				t.Errorf("%s\nRemoteName(...) = %q contains a double dash", tc.reason, got)
			}
			if len(got) > MaxRemoteNameLength {
				t.Errorf("%s\nlen(RemoteName(...)) = %d, want <= %d", tc.reason, len(got), MaxRemoteNameLength)
			}
			if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
				t.Errorf("%s\nRemoteName(...) = %q is not a DNS label: %v", tc.reason, got, errs)
			}
			if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
				t.Errorf("%s\nRemoteName(...) = %q is not a label value: %v", tc.reason, got, errs)
			}
			if again := RemoteName(tc.cluster, tc.namespace, tc.name); again != got {
				t.Errorf("%s\nRemoteName is not deterministic: %q then %q", tc.reason, got, again)
			}
		})
	}
}

func TestRemoteNameInjective(t *testing.T) {
	cases := map[string]struct {
		reason string
		a, b   [3]string
	}{
		"SeparatorCollision": {
			reason: "Joining with a separator would map these two to the same string.",
			a:      [3]string{"c", "a-x-b", "c"}, b: [3]string{"c", "a", "b-x-c"},
		},
		"SameNameOtherNamespace": {
			reason: "The same name in two namespaces.",
			a:      [3]string{"c", "team-a", "db"}, b: [3]string{"c", "team-b", "db"},
		},
		"SameClaimOtherCluster": {
			reason: "The same claim from two clusters.",
			a:      [3]string{"c1", "ns", "db"}, b: [3]string{"c2", "ns", "db"},
		},
		"SharedLongPrefix": {
			reason: "Names equal in their first 200 characters.",
			a:      [3]string{"c", "ns", strings.Repeat("a", 200) + "x"}, b: [3]string{"c", "ns", strings.Repeat("a", 200) + "y"},
		},
		"ConcatenationShift": {
			reason: "Moving characters between namespace and name.",
			a:      [3]string{"c", "ab", "c"}, b: [3]string{"c", "a", "bc"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			a := RemoteName(tc.a[0], tc.a[1], tc.a[2])
			b := RemoteName(tc.b[0], tc.b[1], tc.b[2])
			if a == b {
				t.Errorf("%s\nboth map to %q", tc.reason, a)
			}
		})
	}
}

func TestRemoteNameNoCollisionsAtScale(t *testing.T) {
	seen := map[string]string{}
	for ns := 0; ns < 20; ns++ {
		for i := 0; i < 2000; i++ {
			in := fmt.Sprintf("ns-%d/claim-%d", ns, i)
			got := RemoteName("cluster", fmt.Sprintf("ns-%d", ns), fmt.Sprintf("claim-%d", i))
			if prev, ok := seen[got]; ok {
				t.Fatalf("%s and %s both map to %s", prev, in, got)
			}
			seen[got] = in
		}
	}
}

func TestRemoteSecretName(t *testing.T) {
	a := RemoteSecretName("c", "k8s.starter.org", "KubernetesCluster", "ns", "db")
	b := RemoteSecretName("c", "db.starter.org", "PostgreSQLInstance", "ns", "db")
	if a == b {
		t.Errorf("two kinds with the same claim name share the Secret name %q", a)
	}
	if a == RemoteName("c", "ns", "db") {
		t.Errorf("the Secret name equals the claim name %q", a)
	}
	if diff := cmp.Diff(true, len(a) <= MaxRemoteNameLength); diff != "" {
		t.Errorf("RemoteSecretName length: -want +got:\n%s", diff)
	}
}
