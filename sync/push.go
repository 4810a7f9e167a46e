package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// desiredRemote is what the spec push applies: the local spec (less the
// control plane's fields), labels and annotations (less local-only ones),
// the origin marks, the renamed connection Secret and a hash of it all.
func (r *reconciler) desiredRemote(local, remote *unstructured.Unstructured) *unstructured.Unstructured {
	spec, _, _ := unstructured.NestedMap(local.Object, "spec")
	up := r.fields(local, remote).UpPaths(spec, cameDown(local))
	if _, ok, _ := unstructured.NestedString(local.Object, "spec", "writeConnectionSecretToRef", "name"); ok {
		up["writeConnectionSecretToRef"] = map[string]any{"name": r.remoteSecretName(local)}
	}
	labels := r.cfg.Metadata.UpLabels(local.GetLabels())
	annotations := r.cfg.Metadata.UpAnnotations(local.GetAnnotations())
	origin := r.origin(local)
	maps.Copy(labels, origin.Labels())
	maps.Copy(annotations, origin.Annotations())
	annotations[conflict.AnnotationMetadataHash] = conflict.SpecHash(map[string]any{"labels": toAny(labels), "annotations": toAny(annotations)})
	annotations[conflict.AnnotationSpecHash] = conflict.SpecHash(up)

	u := r.newRemote()
	u.SetNamespace(r.cfg.Namespace)
	u.SetName(RemoteNameOf(r.cfg.ClusterID, local))
	u.SetLabels(labels)
	u.SetAnnotations(annotations)
	u.Object["spec"] = up
	return u
}

// fields is the field policy for one claim (conflict.FieldPolicy.ForClaim)
// or namespaced XR (ForXR);
// remote may be nil.
func (r *reconciler) fields(local, remote *unstructured.Unstructured) conflict.FieldPolicy {
	localSpec, _, _ := unstructured.NestedMap(local.Object, "spec")
	var remoteSpec map[string]any
	if remote != nil {
		remoteSpec, _, _ = unstructured.NestedMap(remote.Object, "spec")
	}
	if r.kind == KindXR {
		return r.cfg.Fields.ForXR(localSpec, remoteSpec)
	}
	return r.cfg.Fields.ForClaim(localSpec, remoteSpec)
}

func (r *reconciler) remoteSecretName(local *unstructured.Unstructured) string {
	return RemoteSecretName(r.cfg.ClusterID, r.gvk.Group, r.gvk.Kind, local.GetNamespace(), local.GetName())
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// push applies the desired remote claim when it differs from the remote one,
// and removes spec fields someone else added out of band. It writes nothing
// when both agree. It returns the remote claim as the control plane has it.
func (r *reconciler) push(ctx context.Context, local, remote *unstructured.Unstructured, class conflict.Remote) (*unstructured.Unstructured, error) {
	want := r.desiredRemote(local, remote)
	wantSpec, _, _ := unstructured.NestedMap(want.Object, "spec")
	state, extra, released := conflict.SpecInSync, [][]string(nil), [][]string(nil)
	if class == conflict.RemoteOurs {
		remoteSpec, _, _ := unstructured.NestedMap(remote.Object, "spec")
		fields, owners := r.fields(local, remote), specOwners(remote)
		state, extra = fields.CompareSpec(wantSpec, remoteSpec, remote.GetAnnotations()[conflict.AnnotationSpecHash],
			fields.CrossplaneWrites(remoteSpec, owners))
		released = fields.Released(remoteSpec, owners, FieldManagerUp)
		if state == conflict.SpecInSync && len(released) == 0 && hasAll(remote.GetLabels(), want.GetLabels()) && hasAll(remote.GetAnnotations(), want.GetAnnotations()) {
			// hasAll covers the hashes: a local label removed changes the metadata hash.
			return remote, nil
		}
	}
	log.FromContext(ctx).V(1).Info("Pushing claim", "state", state.String(), "class", class.String(), "extra", extra, "released", released)
	if len(released) > 0 {
		if err := r.removePaths(ctx, remote, released); err != nil {
			return nil, err
		}
	}
	if err := r.write(ctx, want, remote, class); err != nil {
		return nil, err
	}
	if len(extra) > 0 {
		if err := r.removePaths(ctx, want, extra); err != nil {
			return nil, err
		}
	}
	r.recordPush(local, class, state)
	return want, nil
}

// write creates the remote claim when the cache has none (create.go), else
// applies it, first handing over to the apply what a create of ours owns
// when the apply would leave some of it out.
func (r *reconciler) write(ctx context.Context, want, remote *unstructured.Unstructured, class conflict.Remote) error {
	if class == conflict.RemoteAbsent {
		return r.createRemote(ctx, want)
	}
	if class == conflict.RemoteOurs && dropsUpdateOwned(want, remote) {
		if err := r.upgradeOwnership(ctx, remote); err != nil {
			return err
		}
	}
	if err := r.cl.remoteClient().Apply(ctx, client.ApplyConfigurationFromUnstructured(want),
		client.FieldOwner(FieldManagerUp), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply claim %s to control plane: %w", klog.KObj(want), err)
	}
	return nil
}

// removePaths deletes spec fields that server-side apply cannot remove
// because another manager set them.
func (r *reconciler) removePaths(ctx context.Context, remote *unstructured.Unstructured, paths [][]string) error {
	patch := map[string]any{}
	for _, p := range paths {
		_ = unstructured.SetNestedField(patch, nil, append([]string{"spec"}, p...)...)
	}
	body, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("encode removal of out-of-band fields from remote claim %s: %w", klog.KObj(remote), err)
	}
	if err := r.cl.remoteClient().Patch(ctx, remote, client.RawPatch(types.MergePatchType, body)); err != nil {
		return fmt.Errorf("remove out-of-band fields from remote claim %s: %w", klog.KObj(remote), err)
	}
	return nil
}

func (r *reconciler) recordPush(local *unstructured.Unstructured, class conflict.Remote, state conflict.SpecState) {
	// A routine create raises no Event: the claim's condition says it.
	switch {
	case class != conflict.RemoteOurs && class != conflict.RemoteAbsent:
		r.event(local, corev1.EventTypeWarning, EventAdopted, "Took over the existing remote claim of this name ("+class.String()+")")
	case state == conflict.SpecRemoteDrifted:
		specReverts.WithLabelValues(r.gvk.GroupKind().String()).Inc()
		r.event(local, corev1.EventTypeWarning, EventSpecReverted, "The remote spec was changed in the control plane; reverted it to this copy")
	}
	remoteWrites.WithLabelValues(r.gvk.GroupKind().String()).Inc()
}

// hasAll says whether got holds every key of want with the same value.
func hasAll(got, want map[string]string) bool {
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return false
		}
	}
	return true
}
