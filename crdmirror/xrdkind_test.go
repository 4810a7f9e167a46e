package crdmirror

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mcp-connector/mcp-connector/sync"
)

func TestOfferedKind(t *testing.T) {
	withVersions := func(u *unstructured.Unstructured, versions ...any) *unstructured.Unstructured {
		if err := unstructured.SetNestedSlice(u.Object, versions, "spec", "versions"); err != nil {
			t.Fatal(err)
		}
		return u
	}
	v1 := map[string]any{"name": "v1alpha1"}
	v2ref := map[string]any{"name": "v1beta1", "referenceable": true}
	deleting := withVersions(xrdOf(ScopeNamespaced, false, nil), v1)
	now := metav1.Now()
	deleting.SetDeletionTimestamp(&now)
	type want struct {
		GVK  schema.GroupVersionKind
		Kind sync.Kind
		OK   bool
	}
	cases := map[string]struct {
		reason string
		xrd    *unstructured.Unstructured
		want   want
	}{
		"ClaimOfV1XRD": {
			reason: "A Crossplane v1 XRD (no scope) offers its claim kind.",
			xrd:    withVersions(xrdOf("", true, nil), v1),
			want:   want{GVK: schema.GroupVersionKind{Group: "example.org", Version: "v1alpha1", Kind: "Database"}, Kind: sync.KindClaim, OK: true},
		},
		"ReferenceableVersion": {
			reason: "The referenceable version is taken, not the first.",
			xrd:    withVersions(xrdOf(ScopeLegacyCluster, true, nil), v1, v2ref),
			want:   want{GVK: schema.GroupVersionKind{Group: "example.org", Version: "v1beta1", Kind: "Database"}, Kind: sync.KindClaim, OK: true},
		},
		"NamespacedXR": {
			reason: "A Namespaced XRD offers its XR kind, as namespaced XRs.",
			xrd:    withVersions(xrdOf(ScopeNamespaced, false, nil), v1),
			want:   want{GVK: schema.GroupVersionKind{Group: "example.org", Version: "v1alpha1", Kind: "XDatabase"}, Kind: sync.KindXR, OK: true},
		},
		"NoClaim": {
			reason: "A LegacyCluster XRD without claimNames offers nothing.",
			xrd:    withVersions(xrdOf(ScopeLegacyCluster, false, nil), v1),
		},
		"ClusterScoped": {
			reason: "A cluster-scoped XR is refused: nothing an app cluster may hold.",
			xrd:    withVersions(xrdOf(ScopeCluster, false, nil), v1),
		},
		"UnknownScope": {
			reason: "An unknown scope is refused.",
			xrd:    withVersions(xrdOf("Galactic", false, nil), v1),
		},
		"Deleting": {
			reason: "An XRD being deleted offers nothing.",
			xrd:    deleting,
		},
		"NoVersion": {
			reason: "Without a version there is no kind to list.",
			xrd:    xrdOf(ScopeNamespaced, false, nil),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			gvk, kind, ok := OfferedKind(tc.xrd)
			if diff := cmp.Diff(tc.want, want{GVK: gvk, Kind: kind, OK: ok}); diff != "" {
				t.Errorf("%s\nOfferedKind(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
