package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cenkalti/backoff/v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// OrphanedByUninstall is the value of conflict.AnnotationOrphaned that
// `mcp-connector uninstall` writes. Only claims orphaned so are imported
// again; a claim orphaned because its local copy was deleted stays orphaned.
const OrphanedByUninstall = "uninstalled"

// AnnotationLocalSecretName records, on a claim orphaned by uninstall, the
// name of its local connection Secret, which the remote name does not carry.
const AnnotationLocalSecretName = conflict.Prefix + "claim-secret-name"

// importPageSize is how many remote claims one list call returns.
const importPageSize = 500

// importOrphans brings back, once per start of a kind's syncer, the claims
// that an uninstall of this cluster left in the control-plane namespace: it
// waits for the gate to open, then imports, retrying with backoff until one
// pass succeeded or ctx ends.
func (r *reconciler) importOrphans(ctx context.Context) {
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("gvk", r.gvk.String()))
	bo := backoff.NewExponentialBackOff()
	bo.MaxElapsedTime, bo.MaxInterval = 0, time.Minute
	gate := r.cl.Gate.Subscribe()
	for {
		for !r.cl.Gate.State().Open {
			select {
			case <-ctx.Done():
				return
			case <-gate:
			}
		}
		err := r.importAll(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		wait := bo.NextBackOff()
		log.FromContext(ctx).Info("Cannot import orphaned claims yet, retrying", "error", err.Error(), "retryIn", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// importAll lists, live and page by page (the cache only holds claims that
// carry our label), the unlabelled remote claims of the kind and imports
// those that uninstall orphaned for this cluster.
func (r *reconciler) importAll(ctx context.Context) error {
	sel, err := labels.Parse("!" + conflict.LabelClusterID + "," + conflict.LabelClaimNamespace)
	if err != nil {
		return err
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(r.gvk.GroupVersion().WithKind(r.gvk.Kind + "List"))
	for {
		if err := r.cl.Remote.GetAPIReader().List(ctx, list, client.InNamespace(r.cfg.Namespace),
			client.MatchingLabelsSelector{Selector: sel}, client.Limit(importPageSize), client.Continue(list.GetContinue())); err != nil {
			return fmt.Errorf("list orphaned %s claims in the control plane: %w", r.gvk.Kind, err)
		}
		for i := range list.Items {
			remote := &list.Items[i]
			origin, ok := ImportCandidate(remote.GetLabels(), remote.GetAnnotations(), r.cfg.ClusterID)
			if !ok {
				continue
			}
			if err := r.importOne(ctx, remote, origin); err != nil {
				return err
			}
		}
		if list.GetContinue() == "" {
			return nil
		}
	}
}

// importOne creates the local copy of one orphaned remote claim. A dry run
// first checks that it can be created (namespace there, name free, schema
// accepted), so that a claim that cannot come back is left untouched and
// reported in the log (there is no local object to put an Event on). Then
// the remote claim is marked ours again, before the copy exists, so that the
// first reconcile of the copy finds its remote claim ours, not foreign.
func (r *reconciler) importOne(ctx context.Context, remote *unstructured.Unstructured, origin conflict.Origin) error {
	local := LocalCopy(remote, origin, r.cfg, r.gvk)
	logger := log.FromContext(ctx).WithValues("claim", klog.KObj(local), "remote", remote.GetName())
	if err := r.cl.localClient().Create(ctx, local.DeepCopy(), client.DryRunAll); err != nil {
		if skip, why := importSkip(err); skip {
			logger.Info("Not importing orphaned claim: "+why, "error", err.Error())
			return nil
		}
		return fmt.Errorf("check import of claim %s: %w", klog.KObj(local), err)
	}
	if err := r.markRemote(ctx, remote, true); err != nil {
		return err
	}
	if err := r.cl.localClient().Create(ctx, local); err != nil {
		if rerr := r.markRemote(ctx, remote, false); rerr != nil {
			logger.Error(rerr, "Could not orphan the remote claim again after a failed import")
		}
		if skip, why := importSkip(err); skip {
			logger.Info("Not importing orphaned claim: "+why, "error", err.Error())
			return nil
		}
		return fmt.Errorf("import claim %s: %w", klog.KObj(local), err)
	}
	logger.Info("Imported claim orphaned by an earlier uninstall")
	return nil
}

// importSkip says whether a failed create of a local copy is final for this
// pass (a retry would fail the same way), and why.
func importSkip(err error) (bool, string) {
	switch {
	case apierrors.IsAlreadyExists(err):
		return true, "a local claim of that name exists already (annotate it with " + conflict.AnnotationAdopt + "=true to take the remote claim over)"
	case apierrors.IsNotFound(err):
		return true, "its namespace does not exist in this cluster; create it and restart the connector to import the claim"
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsForbidden(err):
		return true, "this cluster refuses the copy"
	}
	return false, ""
}

// markRemote marks the remote claim as ours again (ours=true: label back,
// the uninstall's annotations gone) or orphaned by uninstall as it was
// (ours=false, undoing a failed import).
func (r *reconciler) markRemote(ctx context.Context, remote *unstructured.Unstructured, ours bool) error {
	patch, err := MarkPatch(r.cfg.ClusterID, remote.GetAnnotations()[AnnotationLocalSecretName], ours)
	if err != nil {
		return err
	}
	if err := r.cl.remoteClient().Patch(ctx, remote, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("mark remote claim %s: %w", remote.GetName(), err)
	}
	return nil
}

// MarkPatch is the merge patch that marks an orphaned remote claim as this
// cluster's again (ours), or orphans it again as uninstall left it, with the
// local Secret name it had recorded.
func MarkPatch(clusterID, localSecret string, ours bool) ([]byte, error) {
	labels := map[string]any{conflict.LabelClusterID: clusterID}
	annotations := map[string]any{conflict.AnnotationOrphaned: nil, AnnotationLocalSecretName: nil}
	if !ours {
		labels[conflict.LabelClusterID] = nil
		annotations[conflict.AnnotationOrphaned] = OrphanedByUninstall
		if localSecret != "" {
			annotations[AnnotationLocalSecretName] = localSecret
		}
	}
	return json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels, "annotations": annotations}})
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
// PushedSpec) and its connection Secret under the local name, and the
// labels and annotations that went up (ours and local-only ones removed).
func LocalCopy(remote *unstructured.Unstructured, origin conflict.Origin, cfg Config, gvk schema.GroupVersionKind) *unstructured.Unstructured {
	remoteSpec, _, _ := unstructured.NestedMap(remote.Object, "spec")
	spec := PushedSpec(remoteSpec, cfg.Fields, remote.GetAnnotations()[conflict.AnnotationSpecHash])
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
	if l := cfg.Metadata.UpLabels(remote.GetLabels()); len(l) > 0 {
		u.SetLabels(l)
	}
	if a := cfg.Metadata.UpAnnotations(remote.GetAnnotations()); len(a) > 0 {
		u.SetAnnotations(a)
	}
	return u
}

// PushedSpec recovers the spec that was pushed from a remote spec: without
// the control-plane fields, and with exactly those chosen fields the local
// claim had set, found by the spec hash recorded at the last push. If no
// combination matches (the remote spec drifted), no chosen field is kept:
// the control plane's choices then flow down as they do for any claim.
func PushedSpec(remote map[string]any, p conflict.FieldPolicy, hash string) map[string]any {
	base := map[string]any{}
	var chosen []string
	for k, v := range remote {
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
