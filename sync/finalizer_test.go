package sync

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// finalizersPatch sends what a merge patch from the object before the change,
// with an optimistic lock, sends.
func TestFinalizersPatch(t *testing.T) {
	cases := map[string]struct {
		before []string
		change func(*unstructured.Unstructured)
	}{
		"AddFirst":   {before: nil, change: func(u *unstructured.Unstructured) { controllerutil.AddFinalizer(u, conflict.Finalizer) }},
		"AddSecond":  {before: []string{"other"}, change: func(u *unstructured.Unstructured) { controllerutil.AddFinalizer(u, conflict.Finalizer) }},
		"RemoveLast": {before: []string{conflict.Finalizer}, change: func(u *unstructured.Unstructured) { controllerutil.RemoveFinalizer(u, conflict.Finalizer) }},
		"RemoveOne":  {before: []string{"other", conflict.Finalizer}, change: func(u *unstructured.Unstructured) { controllerutil.RemoveFinalizer(u, conflict.Finalizer) }},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "x/v1", "kind": "K", "spec": map[string]any{"a": int64(1)}}}
			u.SetName("db")
			u.SetResourceVersion("42")
			u.SetLabels(map[string]string{"l": "v"})
			u.SetFinalizers(tc.before)
			base := u.DeepCopy()
			tc.change(u)
			want, err := client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}).Data(u)
			if err != nil {
				t.Fatal(err)
			}
			got, err := finalizersPatch(u).Data(u)
			if err != nil {
				t.Fatal(err)
			}
			var w, g any
			_ = json.Unmarshal(want, &w)
			_ = json.Unmarshal(got, &g)
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("finalizersPatch: -MergeFrom with optimistic lock, +got:\n%s", diff)
			}
		})
	}
}
