package lifecycle

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
)

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
	v := ViewConnection(u)
	want := ConnectionView{Name: "team-a", ControlPlane: "https://cp", ControlPlaneNamespace: "team-a", ClusterID: "c1", Summary: "1 mirrored",
		Conditions: map[string]ConditionView{"Ready": {Status: "True", Reason: "Ready", Message: "ok"}},
		APIs:       []connection.APIState{{Name: "kubernetesclusters.k8s.starter.org", Kind: "KubernetesCluster", Version: "v1alpha1", XRD: "x", State: "Mirrored"}}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("ViewConnection (-want +got):\n%s", diff)
	}
	wantGVK := schema.GroupVersionKind{Group: "k8s.starter.org", Version: "v1alpha1", Kind: "KubernetesCluster"}
	if diff := cmp.Diff(wantGVK, v.Mirrored()[0].GVK()); diff != "" {
		t.Errorf("GVK (-want +got):\n%s", diff)
	}
}
