package sync

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// TransformControlPlane is the control-plane cache's transform: it drops
// managedFields, except the spec part of our remote claims' entries, which
// tell Crossplane's writes from out-of-band edits (conflict.Owners).
func TransformControlPlane(obj any) (any, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return obj, nil
	}
	u, claim := obj.(*unstructured.Unstructured)
	if !claim || u.GetLabels()[conflict.LabelClusterID] == "" {
		m.SetManagedFields(nil)
		return obj, nil
	}
	var kept []metav1.ManagedFieldsEntry
	for _, mf := range u.GetManagedFields() {
		if spec := specFields(mf); spec != nil {
			mf.FieldsV1 = spec
			kept = append(kept, mf)
		}
	}
	u.SetManagedFields(kept)
	return obj, nil
}

// specFields returns the f:spec part of a main-resource entry, or nil.
func specFields(mf metav1.ManagedFieldsEntry) *metav1.FieldsV1 {
	if mf.Subresource != "" || mf.FieldsV1 == nil {
		return nil
	}
	var f map[string]json.RawMessage
	if json.Unmarshal(mf.FieldsV1.Raw, &f) != nil || f["f:spec"] == nil {
		return nil
	}
	raw, err := json.Marshal(map[string]json.RawMessage{"f:spec": f["f:spec"]})
	if err != nil {
		return nil
	}
	return &metav1.FieldsV1{Raw: raw}
}

// specOwners reads who owns which spec paths of obj.
func specOwners(obj *unstructured.Unstructured) conflict.Owners {
	o := conflict.Owners{}
	if obj == nil {
		return o
	}
	for _, mf := range obj.GetManagedFields() {
		if mf.Subresource == "" && mf.FieldsV1 != nil {
			o.Add(mf.Manager, mf.FieldsV1.Raw)
		}
	}
	return o
}

// cameDown lists the largest parts of the local spec that FieldManagerDown
// alone owns: what came down from the control plane.
func cameDown(local *unstructured.Unstructured) []conflict.Path {
	spec, _, _ := unstructured.NestedMap(local.Object, "spec")
	return specOwners(local).Sole(spec, []string{FieldManagerDown})
}
