package sync

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync/condition"
)

// pullSecrets brings down the Secrets of one object: a claim's connection
// Secret (secret.go), or the Secrets a namespaced XR's composition composed.
func (r *reconciler) pullSecrets(ctx context.Context, local, remote *unstructured.Unstructured) (*metav1.Condition, error) {
	if r.kind == KindXR {
		return r.pullXRSecrets(ctx, local, remote)
	}
	return r.pullSecret(ctx, local, remote)
}

// pullXRSecrets copies every Secret that the remote XR composed into the
// local XR's namespace, under XRSecretName, owned by the local XR. A Secret
// is copied only when the remote XR lists it in spec.crossplane.resourceRefs
// and is its controller (uid checked): no other Secret of the control-plane
// namespace comes down. Copies of Secrets the XR no longer composes go.
// It returns the first condition to report instead of Synced.
func (r *reconciler) pullXRSecrets(ctx context.Context, local, remote *unstructured.Unstructured) (*metav1.Condition, error) {
	var first *metav1.Condition
	report := func(c metav1.Condition) {
		if first == nil {
			first = &c
		}
	}
	names := composedSecrets(remote)
	keep := make(map[string]bool, len(names))
	for _, name := range names {
		dstName := XRSecretName(r.gvk.Group, r.gvk.Kind, local.GetName(), name)
		keep[dstName] = true
		c, err := r.pullXRSecret(ctx, local, remote, name, dstName)
		if err != nil {
			return nil, err
		}
		if c != nil {
			report(*c)
		}
	}
	if err := r.pruneXRSecrets(ctx, local, keep); err != nil {
		report(falseCondition(condition.ReasonSecretFailed, err.Error()))
	}
	return first, nil
}

func (r *reconciler) pullXRSecret(ctx context.Context, local, remote *unstructured.Unstructured, name, dstName string) (*metav1.Condition, error) {
	src := &corev1.Secret{}
	key := types.NamespacedName{Namespace: r.cfg.Namespace, Name: name}
	err := cacheGet(ctx, r.cl.remoteClient(), key, src)
	if apierrors.IsNotFound(err) {
		// The control-plane cache holds only Secrets of Crossplane's
		// connection type; a composition may compose any other type
		// (Opaque, say): read it live.
		err = r.cl.Remote.GetAPIReader().Get(ctx, key, src)
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil // not composed yet; its creation changes the XR's resourceRefs
		}
		c := readFailed(err, condition.ReasonSecretFailed, "the composed Secret "+key.String()+" in the control plane")
		return &c, nil
	}
	if owner := metav1.GetControllerOf(src); owner == nil || owner.UID != remote.GetUID() {
		return nil, nil // not composed by this remote XR: never copied
	}
	dst, class, err := r.localSecret(ctx, local.GetNamespace(), dstName, local.GetUID())
	if err != nil {
		c := readFailed(err, condition.ReasonSecretFailed, "the Secret "+dstName+" in this namespace")
		return &c, nil
	}
	if class == conflict.LocalForeign {
		c := falseCondition(condition.ReasonSecretConflict, "a Secret named "+dstName+" already exists in this namespace and was not written by mcp-connector; the composed Secret "+name+" was not copied")
		return &c, nil
	}
	if err := r.writeSecret(ctx, local, src, dst, dstName); err != nil {
		if lostRace(err) {
			return nil, err
		}
		c := falseCondition(condition.ReasonSecretFailed, err.Error())
		return &c, nil
	}
	return nil, nil
}

// composedSecrets lists the names of the Secrets in the XR's
// spec.crossplane.resourceRefs (composed resources live in the XR's
// namespace).
func composedSecrets(xr *unstructured.Unstructured) []string {
	refs, _, _ := unstructured.NestedSlice(xr.Object, "spec", conflict.FieldCrossplane, "resourceRefs")
	var out []string
	for _, ref := range refs {
		m, ok := ref.(map[string]any)
		if !ok || m["apiVersion"] != "v1" || m["kind"] != "Secret" {
			continue
		}
		if name, _ := m["name"].(string); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// pruneXRSecrets deletes our copies, controlled by the local XR, of Secrets
// the remote XR no longer composes (keep holds the names still wanted).
func (r *reconciler) pruneXRSecrets(ctx context.Context, local *unstructured.Unstructured, keep map[string]bool) error {
	list := &corev1.SecretList{}
	if err := r.cl.localClient().List(ctx, list, client.InNamespace(local.GetNamespace()),
		client.MatchingLabels{conflict.LabelManaged: "true"}); err != nil {
		return fmt.Errorf("list copied Secrets in %s: %w", local.GetNamespace(), err)
	}
	for i := range list.Items {
		s := &list.Items[i]
		if keep[s.Name] || conflict.ClassifySecret(true, s.Labels, s.OwnerReferences, local.GetUID()) != conflict.LocalOurs {
			continue
		}
		uid := s.UID
		if err := r.cl.localClient().Delete(ctx, s, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete Secret %s that the XR no longer composes: %w", klog.KObj(s), err)
		}
	}
	return nil
}
