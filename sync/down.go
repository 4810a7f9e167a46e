package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// pullSpec writes the control plane's spec fields (resourceRef and the
// fields Crossplane chose) on the local claim, under FieldManagerDown, when
// they differ. After a write, local is the claim as the API server returned
// it (new generation and managed fields).
func (r *reconciler) pullSpec(ctx context.Context, local, remote *unstructured.Unstructured) error {
	localSpec, _, _ := unstructured.NestedMap(local.Object, "spec")
	remoteSpec, _, _ := unstructured.NestedMap(remote.Object, "spec")
	fromCP := ownedBy(local, FieldManagerDown)
	var userSet []string
	for k := range localSpec {
		if !slices.Contains(fromCP, k) {
			userSet = append(userSet, k)
		}
	}
	down := r.cfg.Fields.Down(remoteSpec, userSet)
	if !needsDown(localSpec, down, fromCP) {
		return nil
	}
	log.FromContext(ctx).V(1).Info("Writing control-plane fields down", "fields", down, "fromControlPlane", fromCP)
	patch := r.applyConfig(local, "spec", down)
	if err := r.cl.localClient().Apply(ctx, client.ApplyConfigurationFromUnstructured(patch),
		client.FieldOwner(FieldManagerDown), client.ForceOwnership); err != nil {
		return fmt.Errorf("write control-plane fields on %s: %w", klog.KObj(local), err)
	}
	localWrites.WithLabelValues(r.gvk.GroupKind().String(), "spec").Inc()
	local.Object = patch.Object
	return nil
}

// needsDown says whether the local spec lacks a value that comes down, or
// still holds one the control plane no longer has.
func needsDown(local, down map[string]any, fromCP []string) bool {
	for k, v := range down {
		if !conflict.EqualJSON(local[k], v) {
			return true
		}
	}
	for _, k := range fromCP {
		if _, ok := down[k]; !ok {
			return true
		}
	}
	return false
}

// ownedBy lists the top-level spec fields that manager alone owns on obj,
// read from its managedFields.
func ownedBy(obj *unstructured.Unstructured, manager string) []string {
	mine, others := map[string]bool{}, map[string]bool{}
	for _, mf := range obj.GetManagedFields() {
		if mf.FieldsV1 == nil || mf.Subresource != "" {
			continue
		}
		var f struct {
			Spec map[string]json.RawMessage `json:"f:spec"`
		}
		if json.Unmarshal(mf.FieldsV1.Raw, &f) != nil {
			continue
		}
		set := others
		if mf.Manager == manager {
			set = mine
		}
		for k := range f.Spec {
			if len(k) > 2 && k[:2] == "f:" {
				set[k[2:]] = true
			}
		}
	}
	var out []string
	for k := range mine {
		if !others[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
