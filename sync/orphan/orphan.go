package orphan

import (
	"encoding/json"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// OrphanedByUninstall is the value of conflict.AnnotationOrphaned that
// `mcp-connector uninstall` writes. Only claims orphaned so are imported
// again; a claim orphaned because its local copy was deleted stays orphaned.
const OrphanedByUninstall = conflict.OrphanedByUninstall

// AnnotationLocalSecretName records, on a claim orphaned by uninstall, the
// name of its local connection Secret, which the remote name does not carry.
const AnnotationLocalSecretName = conflict.Prefix + "claim-secret-name"

// OrphanPatch is the merge patch that orphans a remote claim on uninstall:
// the cluster-id label goes, the orphaned annotation says "uninstalled", the
// local Secret name is recorded when known; everything else stays.
func OrphanPatch(localSecret string) ([]byte, error) {
	annotations := map[string]any{conflict.AnnotationOrphaned: OrphanedByUninstall, AnnotationLocalSecretName: nil}
	if localSecret != "" {
		annotations[AnnotationLocalSecretName] = localSecret
	}
	return json.Marshal(map[string]any{"metadata": map[string]any{
		"labels": map[string]any{conflict.LabelClusterID: nil}, "annotations": annotations}})
}

// ReleasePatch is the merge patch that ends an import, once the local copy's
// push took the remote claim back (label and origin marks): the marks that
// the uninstall left, orphaned and the local Secret name, go. Until then
// they stay, so that a crash at any step leaves the claim importable, or a
// copy that finishes the import, with the Secret name known.
func ReleasePatch() []byte {
	return []byte(`{"metadata":{"annotations":{"` + conflict.AnnotationOrphaned + `":null,"` + AnnotationLocalSecretName + `":null}}}`)
}

// ImportCandidate says whether a remote claim was orphaned by an uninstall of
// the cluster clusterID and names its local claim: no cluster-id label, the
// orphaned annotation "uninstalled", and origin annotations naming this
// cluster, a namespace and a name.
func ImportCandidate(labels, annotations map[string]string, clusterID string) (conflict.Origin, bool) {
	o := conflict.Origin{
		ClusterID: annotations[conflict.AnnotationClusterID],
		Namespace: annotations[conflict.AnnotationClaimNamespace],
		Name:      annotations[conflict.AnnotationClaimName],
	}
	ok := labels[conflict.LabelClusterID] == "" && annotations[conflict.AnnotationOrphaned] == OrphanedByUninstall &&
		clusterID != "" && o.ClusterID == clusterID && o.Namespace != "" && o.Name != ""
	return o, ok
}

// LocalCopy is the local claim to re-create from an orphaned remote claim:
// in the recorded namespace and name, with the spec as it was pushed (see
// PushedSpec) and its connection Secret under the local name, the labels and
// annotations that went up (ours and local-only ones removed), and
// conflict.AnnotationImportedFrom naming the remote claim's uid until the
// import is finished.
func LocalCopy(remote *unstructured.Unstructured, origin conflict.Origin, fields conflict.FieldPolicy, md conflict.MetadataPolicy, gvk schema.GroupVersionKind) *unstructured.Unstructured {
	remoteSpec, _, _ := unstructured.NestedMap(remote.Object, "spec")
	spec := PushedSpec(remoteSpec, fields, remote.GetAnnotations()[conflict.AnnotationSpecHash])
	if ref, ok := spec["writeConnectionSecretToRef"].(map[string]any); ok {
		remoteName, _ := ref["name"].(string)
		ref = maps.Clone(ref)
		ref["name"] = LocalSecretName(remote.GetAnnotations()[AnnotationLocalSecretName], remoteName)
		spec["writeConnectionSecretToRef"] = ref
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(origin.Namespace)
	u.SetName(origin.Name)
	if l := md.UpLabels(remote.GetLabels()); len(l) > 0 {
		u.SetLabels(l)
	}
	a := md.UpAnnotations(remote.GetAnnotations())
	a[conflict.AnnotationImportedFrom] = string(remote.GetUID())
	u.SetAnnotations(a)
	return u
}

// PushedSpec recovers the spec that was pushed from a remote spec: without
// the control-plane fields (top-level and ControlPlanePaths), and with exactly those chosen fields the local
// claim had set, found by the spec hash recorded at the last push. If no
// combination matches (the remote spec drifted), no chosen field is kept:
// the control plane's choices then flow down as they do for any claim.
func PushedSpec(remote map[string]any, p conflict.FieldPolicy, hash string) map[string]any {
	base := map[string]any{}
	var chosen []string
	for k, v := range conflict.Without(remote, p.ControlPlanePaths) {
		switch {
		case slices.Contains(p.ControlPlane, k):
		case slices.Contains(p.Chosen, k):
			chosen = append(chosen, k)
		default:
			base[k] = v
		}
	}
	slices.Sort(chosen)
	for mask := (1 << len(chosen)) - 1; mask >= 0 && hash != ""; mask-- {
		cand := maps.Clone(base)
		for i, k := range chosen {
			if mask&(1<<i) != 0 {
				cand[k] = remote[k]
			}
		}
		if conflict.SpecHash(cand) == hash {
			return cand
		}
	}
	return base
}

// LocalSecretName is the local name of a claim's connection Secret: the one
// uninstall recorded, else (a claim orphaned by an older uninstall) the
// remote Secret's name. The remote name derives from the claim, not from the
// local Secret name, so either choice leaves the remote claim unchanged.
func LocalSecretName(recorded, remoteName string) string {
	if recorded != "" {
		return recorded
	}
	return remoteName
}
