package lifecycle

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/condition"
)

var releaseGVK = schema.GroupVersionKind{Group: "example.org", Version: "v1", Kind: "KubernetesCluster"}

func localClaim(ns, name string, deleting bool, finalizers []string, reason string) unstructured.Unstructured {
	u := unstructured.Unstructured{}
	u.SetGroupVersionKind(releaseGVK)
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetFinalizers(finalizers)
	if deleting {
		now := metav1.Now()
		u.SetDeletionTimestamp(&now)
	}
	if reason != "" {
		_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"type": condition.Type, "status": "False", "reason": reason}}, "status", "conditions")
	}
	return u
}

func TestStuckClaims(t *testing.T) {
	ours := []string{conflict.Finalizer}
	items := []unstructured.Unstructured{
		localClaim("team-a", "stuck", true, ours, condition.ReasonUnreachable),
		localClaim("team-a", "live", false, ours, condition.ReasonSynced),
		localClaim("team-a", "others", true, []string{"example.org/other"}, ""),
		localClaim("team-b", "stuck", true, append([]string{"example.org/other"}, ours...), condition.ReasonNamespaceHeld),
		localClaim("team-b", "asked", true, ours, condition.ReasonDeleting),
	}
	cases := map[string]struct {
		reason string
		filter ClaimFilter
		want   []string
	}{
		"All": {reason: "Every claim being deleted and held by our finalizer, whatever else holds it; not live claims, not others' finalizers.",
			want: []string{"team-a/stuck", "team-b/stuck", "team-b/asked"}},
		"Namespace": {reason: "--claim-namespace narrows to one namespace.",
			filter: ClaimFilter{Namespace: "team-b"}, want: []string{"team-b/stuck", "team-b/asked"}},
		"Names": {reason: "Names narrow in every namespace.",
			filter: ClaimFilter{Names: []string{"stuck"}}, want: []string{"team-a/stuck", "team-b/stuck"}},
		"Both": {reason: "Both narrow together.",
			filter: ClaimFilter{Namespace: "team-a", Names: []string{"stuck", "asked"}}, want: []string{"team-a/stuck"}},
		"NoneMatch": {reason: "A name that is not stuck selects nothing.",
			filter: ClaimFilter{Names: []string{"live"}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, s := range stuckClaims(releaseGVK, items, "app-1", tc.filter) {
				got = append(got, s.local.GetNamespace()+"/"+s.local.GetName())
				if want := sync.RemoteName("app-1", s.local.GetNamespace(), s.local.GetName()); s.remote != want {
					t.Errorf("remote name of %s/%s: %q, want %q", s.local.GetNamespace(), s.local.GetName(), s.remote, want)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nstuckClaims: -want +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestLeftBehind(t *testing.T) {
	items := []unstructured.Unstructured{
		localClaim("team-a", "db", true, []string{conflict.Finalizer}, condition.ReasonUnreachable),
		localClaim("team-a", "gone", true, []string{conflict.Finalizer}, condition.ReasonRemoteDeleting),
	}
	stuck := stuckClaims(releaseGVK, items, "app-1", ClaimFilter{})
	cases := map[string]struct {
		reason  string
		s       stuckClaim
		want    []string
		notWant string
	}{
		"Kept": {reason: "Says which remote claim stays where, and that its composite and cloud resources keep running.",
			s: stuck[0], want: []string{"KubernetesCluster team-a/db", "the remote claim " + sync.RemoteName("app-1", "team-a", "db"),
				"control-plane namespace team-a-cp", "composite resource and cloud resources keep running and are not deleted"}},
		"AlreadyDeleting": {reason: "A claim whose remote claim the control plane was asked to delete: releasing does not stop that, and is not promised.",
			s: stuck[1], want: []string{"already asked to delete it"}, notWant: "keep running"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := tc.s.leftBehind("team-a-cp")
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s\nleftBehind = %q, lacks %q", tc.reason, got, w)
				}
			}
			if tc.notWant != "" && strings.Contains(got, tc.notWant) {
				t.Errorf("%s\nleftBehind = %q, must not say %q", tc.reason, got, tc.notWant)
			}
		})
	}
}
