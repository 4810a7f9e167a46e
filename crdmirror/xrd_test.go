package crdmirror

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/mcp-connector/mcp-connector/sync"
)

func xrdOf(scope string, withClaim bool, lbls map[string]string) *unstructured.Unstructured {
	spec := map[string]any{"group": "example.org", "names": map[string]any{"kind": "XDatabase", "plural": "xdatabases"}}
	if scope != "" {
		spec["scope"] = scope
	}
	if withClaim {
		spec["claimNames"] = map[string]any{"kind": "Database", "plural": "databases"}
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetName("xdatabases.example.org")
	u.SetLabels(lbls)
	return u
}

func TestAPIOf(t *testing.T) {
	deleting := xrdOf("Namespaced", false, nil)
	now := metav1.Now()
	deleting.SetDeletionTimestamp(&now)
	team := labels.SelectorFromSet(labels.Set{"offer": "team-a"})
	cases := map[string]struct {
		reason   string
		xrd      *unstructured.Unstructured
		selector labels.Selector
		want     api
		wantKind sync.Kind
	}{
		"Gone":     {reason: "A deleted XRD offers nothing.", xrd: nil, want: api{}},
		"Deleting": {reason: "An XRD being deleted offers nothing.", xrd: deleting, want: api{}},
		"V1NoScope": {
			reason: "A Crossplane v1 XRD has no scope: LegacyCluster; its claim CRD is mirrored.",
			xrd:    xrdOf("", true, nil), want: api{CRD: "databases.example.org", Scope: ScopeLegacyCluster},
		},
		"LegacyWithoutClaim": {
			reason: "A LegacyCluster XRD without claimNames offers nothing to an app cluster.",
			xrd:    xrdOf("LegacyCluster", false, nil), want: api{},
		},
		"Namespaced": {
			reason: "A namespaced XR's own CRD (spec.names) is mirrored; its objects are XRs.",
			xrd:    xrdOf("Namespaced", false, nil), want: api{CRD: "xdatabases.example.org", Scope: ScopeNamespaced}, wantKind: sync.KindXR,
		},
		"Cluster": {
			reason: "A cluster-scoped XR is refused, with the reason.",
			xrd:    xrdOf("Cluster", false, nil), want: api{CRD: "xdatabases.example.org", Scope: ScopeCluster, Refused: refusedCluster},
		},
		"UnknownScope": {
			reason: "A scope from a later Crossplane is refused, not guessed.",
			xrd:    xrdOf("Galactic", false, nil),
			want:   api{CRD: "xdatabases.example.org", Scope: "Galactic", Refused: "the XRD has scope Galactic, which this connector does not know: it is not mirrored"},
		},
		"SelectorMatches": {
			reason: "An XRD that matches the selector is offered.",
			xrd:    xrdOf("Namespaced", false, map[string]string{"offer": "team-a"}), selector: team,
			want: api{CRD: "xdatabases.example.org", Scope: ScopeNamespaced}, wantKind: sync.KindXR,
		},
		"SelectorExcludes": {
			reason: "An XRD that does not match the selector offers nothing: withdrawn as if deleted.",
			xrd:    xrdOf("", true, map[string]string{"offer": "team-b"}), selector: team, want: api{},
		},
		"SelectorExcludesCluster": {
			reason: "An unselected cluster-scoped XRD is not even listed as refused.",
			xrd:    xrdOf("Cluster", false, nil), selector: team, want: api{},
		},
		"NoNames": {
			reason: "A Namespaced XRD without a plural (invalid) offers nothing.",
			xrd:    &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"group": "g", "scope": "Namespaced"}}}, want: api{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := apiOf(tc.xrd, tc.selector)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(api{})); diff != "" {
				t.Errorf("%s\napiOf(...): -want, +got:\n%s", tc.reason, diff)
			}
			if got.Kind() != tc.wantKind {
				t.Errorf("%s\napiOf(...).Kind() = %v, want %v", tc.reason, got.Kind(), tc.wantKind)
			}
		})
	}
}

func TestWithdrawReason(t *testing.T) {
	team := labels.SelectorFromSet(labels.Set{"offer": "team-a"})
	cases := map[string]struct {
		xrd      *unstructured.Unstructured
		selector labels.Selector
		want     string
	}{
		"Gone":       {xrd: nil, want: "the control plane withdrew this API"},
		"NoClaim":    {xrd: xrdOf("LegacyCluster", false, nil), want: "the XRD no longer offers a claim"},
		"NoClaimSel": {xrd: xrdOf("LegacyCluster", false, map[string]string{"offer": "team-a"}), selector: team, want: "the XRD no longer offers a claim"},
		"Unselected": {xrd: xrdOf("Namespaced", false, nil), selector: team, want: "the XRD does not match the connector's --xrd-selector offer=team-a"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := withdrawReason(tc.xrd, tc.selector); got != tc.want {
				t.Errorf("withdrawReason(...) = %q, want %q", got, tc.want)
			}
		})
	}
}
