package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mcp-connector/mcp-connector/crdmirror"
)

func TestClaimState(t *testing.T) {
	cases := map[string]string{
		"Synced":                      claimInSync,
		"ControlPlaneUnreachable":     claimStale,
		"Starting":                    claimStale,
		"NamespaceHeldByOtherCluster": claimStale,
		"ForeignObject":               claimInConflict,
		"OwnedByOtherCluster":         claimInConflict,
		"NameCollision":               claimInConflict,
		"SecretConflict":              claimInConflict,
		"PushFailed":                  claimFailing,
		"RemoteDeleted":               claimFailing,
		"Deleting":                    claimDeleting,
		"":                            claimPending,
	}
	for reason, want := range cases {
		t.Run("Reason"+reason, func(t *testing.T) {
			if got := ClaimState(reason); got != want {
				t.Errorf("ClaimState(%q) = %q, want %q", reason, got, want)
			}
		})
	}
}

func TestSummarizeClaims(t *testing.T) {
	cases := map[string]struct {
		counts map[string]int
		want   string
	}{
		"None":     {counts: map[string]int{}, want: "0 in sync, 0 stale, 0 in conflict"},
		"Mixed":    {counts: map[string]int{claimInSync: 3, claimInConflict: 1, claimFailing: 2}, want: "3 in sync, 0 stale, 1 in conflict, 2 failing"},
		"Deleting": {counts: map[string]int{claimDeleting: 1}, want: "0 in sync, 0 stale, 0 in conflict, 1 deleting"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, summarizeClaims(tc.counts)); diff != "" {
				t.Errorf("summarizeClaims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestViewConnection(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "team-a"},
		"spec":     map[string]any{"controlPlane": "https://cp", "controlPlaneNamespace": "team-a", "clusterID": "c1"},
		"status": map[string]any{
			"summary":    "1 mirrored",
			"conditions": []any{map[string]any{"type": "Ready", "status": "True", "reason": "Ready", "message": "ok"}},
			"apis":       []any{map[string]any{"name": "kubernetesclusters.k8s.starter.org", "kind": "KubernetesCluster", "version": "v1alpha1", "xrd": "x", "state": "Mirrored"}},
		},
	}}
	v := viewConnection(u)
	want := connectionView{Name: "team-a", ControlPlane: "https://cp", ControlPlaneNamespace: "team-a", ClusterID: "c1", Summary: "1 mirrored",
		Conditions: map[string]conditionView{"Ready": {Status: "True", Reason: "Ready", Message: "ok"}},
		APIs:       []crdmirror.APIState{{Name: "kubernetesclusters.k8s.starter.org", Kind: "KubernetesCluster", Version: "v1alpha1", XRD: "x", State: "Mirrored"}}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("viewConnection (-want +got):\n%s", diff)
	}
	wantGVK := schema.GroupVersionKind{Group: "k8s.starter.org", Version: "v1alpha1", Kind: "KubernetesCluster"}
	if diff := cmp.Diff(wantGVK, gvkOf(v.mirrored()[0])); diff != "" {
		t.Errorf("gvkOf (-want +got):\n%s", diff)
	}
}
