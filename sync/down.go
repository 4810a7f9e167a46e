package sync

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// pullSpec writes the control plane's spec fields (resourceRef, the fields
// Crossplane chose, and the values Crossplane wrote into the remote claim
// that the user did not set locally) on the local claim, under
// FieldManagerDown, when they differ. After a write, local is the claim as
// the API server returned it (new generation and managed fields).
func (r *reconciler) pullSpec(ctx context.Context, local, remote *unstructured.Unstructured) error {
	localSpec, _, _ := unstructured.NestedMap(local.Object, "spec")
	remoteSpec, _, _ := unstructured.NestedMap(remote.Object, "spec")
	fields := r.fields(local, remote)
	fromCP := ownedBy(local, FieldManagerDown)
	var userSet []string
	for k := range localSpec {
		if !slices.Contains(fromCP, k) {
			userSet = append(userSet, k)
		}
	}
	down := fields.Down(remoteSpec, userSet)
	paths := make([]conflict.Path, 0, len(down))
	for k := range down {
		paths = append(paths, conflict.Path{k})
	}
	came := cameDown(local)
	written := conflict.DownWritten(localSpec, fields.CrossplaneWrites(remoteSpec, specOwners(remote)), came)
	for _, p := range append(fields.ControlPlaneIn(remoteSpec), written...) {
		v, _ := conflict.Get(remoteSpec, p)
		conflict.Set(down, p, runtime.DeepCopyJSONValue(v))
		paths = append(paths, p)
	}
	if !needsDown(localSpec, down, paths, came) {
		return nil
	}
	log.FromContext(ctx).V(1).Info("Writing control-plane fields down", "fields", down, "fromControlPlane", came)
	patch := r.applyConfig(local, "spec", down)
	if err := r.cl.localClient().Apply(ctx, client.ApplyConfigurationFromUnstructured(patch),
		client.FieldOwner(FieldManagerDown), client.ForceOwnership); err != nil {
		return fmt.Errorf("write control-plane fields on %s: %w", klog.KObj(local), err)
	}
	localWrites.WithLabelValues(r.gvk.GroupKind().String(), "spec").Inc()
	local.Object = patch.Object
	return nil
}

// needsDown says whether the local spec lacks a value that comes down (down
// holds them at paths), or still holds one that came down before (fromCP)
// and that the control plane no longer has.
func needsDown(local, down map[string]any, paths, fromCP []conflict.Path) bool {
	for _, p := range paths {
		l, _ := conflict.Get(local, p)
		d, _ := conflict.Get(down, p)
		if !conflict.EqualJSON(l, d) {
			return true
		}
	}
	for _, f := range fromCP {
		if !slices.ContainsFunc(paths, func(p conflict.Path) bool { return len(p) <= len(f) && slices.Equal(f[:len(p)], p) }) {
			return true
		}
	}
	return false
}

// ownedBy lists the top-level spec fields that manager alone owns on obj,
// read from its managedFields.
func ownedBy(obj *unstructured.Unstructured, manager string) []string {
	mine, others := map[string]bool{}, map[string]bool{}
	add := func(m string, keys []string) {
		set := others
		if m == manager {
			set = mine
		}
		for _, k := range keys {
			set[k] = true
		}
	}
	// In place (owners.go), else from the typed entries.
	if !mainEntries(obj, func(m string, fields map[string]any) { add(m, specKeys(fields)) }) {
		for _, mf := range obj.GetManagedFields() {
			if mf.FieldsV1 != nil && mf.Subresource == "" {
				add(mf.Manager, specKeysJSON(mf.FieldsV1.Raw))
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
