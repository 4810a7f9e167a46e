package sync

import (
	"encoding/json"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// TransformControlPlane is the control-plane cache's transform: it drops
// managedFields, except the spec part of our remote claims' entries, which
// tell Crossplane's writes from out-of-band edits (conflict.Owners), and of
// those only what the decisions read (compact). Claims and connection
// Secrets are held packed (packedClaim, packedSecret).
func TransformControlPlane(obj any) (any, error) {
	m, ok := obj.(metav1.Object)
	if !ok || isPacked(obj) {
		return obj, nil
	}
	if s, ok := obj.(*corev1.Secret); ok {
		s.ManagedFields = nil
		return packedSecretOf(s), nil
	}
	u, claim := obj.(*unstructured.Unstructured)
	if !claim || u.GetLabels()[conflict.LabelClusterID] == "" {
		m.SetManagedFields(nil)
		return obj, nil
	}
	var kept []metav1.ManagedFieldsEntry
	for _, mf := range u.GetManagedFields() {
		if spec := specFields(mf); spec != nil {
			kept = append(kept, compact(mf, spec))
		}
	}
	u.SetManagedFields(kept)
	return packed(u), nil
}

// isPacked says whether obj is what a transform made already: client-go's
// reflector may give an object of its initial list to the transform twice
// (once into the list it streams, once into the store).
func isPacked(obj any) bool {
	switch obj.(type) {
	case *packedClaim, *packedSecret:
		return true
	}
	return false
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
	raw, err := json.Marshal(map[string]json.RawMessage{"f:spec": fieldsOnly(f["f:spec"])})
	if err != nil {
		return nil
	}
	return &metav1.FieldsV1{Raw: raw}
}

// compact is what the cache keeps of an entry: its manager, operation and
// subresource, and fields. Its time, API version and fields type are read
// by nothing (a change in ownership arrives as a new object anyway).
func compact(mf metav1.ManagedFieldsEntry, fields *metav1.FieldsV1) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{Manager: mf.Manager, Operation: mf.Operation, Subresource: mf.Subresource, FieldsV1: fields}
}

// fieldsOnly keeps of a fieldsV1 node only its field members ("f:"), at
// every depth: the "." markers and list members (k:, v:, i:) are read by
// nothing (conflict.Owners owns a list whole), and each costs a map in the
// cache.
func fieldsOnly(raw json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		if strings.HasPrefix(k, "f:") {
			out[k] = fieldsOnly(v)
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return raw
	}
	return b
}

// specOwners reads who owns which spec paths of obj (in place: owners.go).
func specOwners(obj *unstructured.Unstructured) conflict.Owners {
	o := conflict.Owners{}
	if obj == nil || mainEntries(obj, o.AddFields) {
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

// ownedByUpdate lists the spec paths that FieldManagerUp owns on obj through
// an Update entry (a create or merge patch of ours) rather than its apply;
// has says whether there is such an entry at all.
func ownedByUpdate(obj *unstructured.Unstructured) (paths []conflict.Path, has bool) {
	o := conflict.Owners{}
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager == FieldManagerUp && mf.Operation == metav1.ManagedFieldsOperationUpdate && mf.Subresource == "" && mf.FieldsV1 != nil {
			has = true
			o.Add(mf.Manager, mf.FieldsV1.Raw)
		}
	}
	return o[FieldManagerUp], has
}

// dropsUpdateOwned says whether applying want to remote would leave out
// something that an Update entry of ours may own, which the apply alone
// cannot remove: a spec path of that entry, or a label or annotation of the
// remote claim (the cache keeps no metadata ownership: any key counts).
func dropsUpdateOwned(want, remote *unstructured.Unstructured) bool {
	paths, has := ownedByUpdate(remote)
	if !has {
		return false
	}
	if !hasAll(keysOf(want.GetLabels()), keysOf(remote.GetLabels())) || !hasAll(keysOf(want.GetAnnotations()), keysOf(remote.GetAnnotations())) {
		return true
	}
	spec, _, _ := unstructured.NestedMap(want.Object, "spec")
	for _, p := range paths {
		if _, ok := conflict.Get(spec, p); !ok {
			return true
		}
	}
	return false
}

// keysOf maps every key of m to "".
func keysOf(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = ""
	}
	return out
}

// TransformLocal is the app cluster's cache transform: it keeps of
// managedFields only what the ownership decisions read. Those ask which
// spec fields FieldManagerDown alone owns (cameDown, ownedBy): a claim keeps
// the spec part of its main-resource entries, and of those only the
// top-level fields FieldManagerDown's entry has (none at all without such an
// entry), plus, without fields, the status entries that an earlier
// connector wrote by update (hasLegacyStatus). Every other object keeps none,
// and our Secret copies keep a digest of their data instead of the data.
func TransformLocal(obj any) (any, error) {
	m, ok := obj.(metav1.Object)
	if !ok || isPacked(obj) {
		return obj, nil
	}
	u, claim := obj.(*unstructured.Unstructured)
	if !claim {
		m.SetManagedFields(nil)
		if s, ok := obj.(*corev1.Secret); ok {
			digestData(s) // our copies: only compared (secretdigest.go)
			return packedSecretOf(s), nil
		}
		return obj, nil
	}
	down := downKeys(u.GetManagedFields())
	var kept []metav1.ManagedFieldsEntry
	for _, mf := range u.GetManagedFields() {
		switch {
		case mf.Subresource == "status" && mf.Operation == metav1.ManagedFieldsOperationUpdate && legacyStatusManagers.Has(mf.Manager):
			kept = append(kept, compact(mf, nil))
		case mf.Subresource == "" && len(down) > 0:
			if spec := specFieldsWithin(mf, down); spec != nil {
				kept = append(kept, compact(mf, spec))
			}
		}
	}
	u.SetManagedFields(kept)
	return packed(u), nil
}

// packed is what a cache holds of a claim: packed (packed.go), or the claim
// itself if it cannot be encoded (it then costs its decoded size, and says
// so in the log).
func packed(u *unstructured.Unstructured) any {
	p, err := pack(u)
	if err != nil {
		log.Log.WithName("cache").Error(err, "Cannot pack the claim: the cache holds it decoded", "kind", u.GetKind(), "namespace", u.GetNamespace(), "name", u.GetName())
		return u
	}
	return p
}

// downKeys are the top-level spec fields (as "f:name") of FieldManagerDown's
// main-resource entry.
func downKeys(entries []metav1.ManagedFieldsEntry) map[string]bool {
	keys := map[string]bool{}
	for _, mf := range entries {
		if mf.Manager != FieldManagerDown || mf.Subresource != "" || mf.FieldsV1 == nil {
			continue
		}
		var f struct {
			Spec map[string]json.RawMessage `json:"f:spec"`
		}
		if json.Unmarshal(mf.FieldsV1.Raw, &f) == nil {
			for k := range f.Spec {
				keys[k] = true
			}
		}
	}
	return keys
}

// specFieldsWithin returns the f:spec part of an entry, limited to the
// top-level fields in keys, or nil when nothing is left.
func specFieldsWithin(mf metav1.ManagedFieldsEntry, keys map[string]bool) *metav1.FieldsV1 {
	if mf.FieldsV1 == nil {
		return nil
	}
	var f struct {
		Spec map[string]json.RawMessage `json:"f:spec"`
	}
	if json.Unmarshal(mf.FieldsV1.Raw, &f) != nil {
		return nil
	}
	spec := map[string]json.RawMessage{}
	for k, v := range f.Spec {
		if keys[k] {
			spec[k] = fieldsOnly(v)
		}
	}
	if len(spec) == 0 {
		return nil
	}
	raw, err := json.Marshal(map[string]any{"f:spec": spec})
	if err != nil {
		return nil
	}
	return &metav1.FieldsV1{Raw: raw}
}

// hasLegacyStatus says whether an earlier connector wrote the claim's status
// by update (see ensureStatusOwner).
func hasLegacyStatus(local *unstructured.Unstructured) bool {
	for _, mf := range local.GetManagedFields() {
		if mf.Subresource == "status" && mf.Operation == metav1.ManagedFieldsOperationUpdate && legacyStatusManagers.Has(mf.Manager) {
			return true
		}
	}
	return false
}
