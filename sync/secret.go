package sync

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync/condition"
)

// pullSecret copies the connection Secret that the control plane wrote for
// the remote claim into the local claim's namespace, under the name the user
// chose, owned by the local claim (so it goes with it). It returns a
// condition to report instead of Synced when the copy is refused or fails.
// A write that lost a race (409, or created meanwhile) is returned as an
// error instead, for a quiet retry.
func (r *reconciler) pullSecret(ctx context.Context, local, remote *unstructured.Unstructured) (*metav1.Condition, error) {
	name, _, _ := unstructured.NestedString(local.Object, "spec", "writeConnectionSecretToRef", "name")
	if name == "" {
		return nil, nil
	}
	src := &corev1.Secret{}
	key := types.NamespacedName{Namespace: r.cfg.Namespace, Name: r.remoteSecretName(local)}
	if err := cacheGet(ctx, r.cl.remoteClient(), key, src); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil // not written yet; its creation raises an event
		}
		c := readFailed(err, condition.ReasonSecretFailed, "the connection Secret "+key.String()+" in the control plane")
		return &c, nil
	}
	if owner := metav1.GetControllerOf(src); owner == nil || owner.UID != remote.GetUID() {
		return nil, nil // not the remote claim's own Secret: never copied
	}
	c, err := r.copySecret(ctx, local, src, name, r.cachedSecret)
	if errors.Is(err, errNameTaken) { // created first; the name is taken: read it and decide again
		c, err = r.copySecret(ctx, local, src, name, r.localSecret)
	}
	return c, err
}

// copySecret writes the copy unless the target, found with lookup, is not ours.
func (r *reconciler) copySecret(ctx context.Context, local *unstructured.Unstructured, src *corev1.Secret, name string,
	lookup func(context.Context, string, string, types.UID) (*corev1.Secret, conflict.Local, error)) (*metav1.Condition, error) {
	dst, class, err := lookup(ctx, local.GetNamespace(), name, local.GetUID())
	if err != nil {
		c := readFailed(err, condition.ReasonSecretFailed, "the Secret "+name+" in this namespace")
		return &c, nil
	}
	if class == conflict.LocalForeign {
		c := falseCondition(condition.ReasonSecretConflict, "a Secret named "+name+" already exists in this namespace and was not written by mcp-connector; the connection details were not copied")
		return &c, nil
	}
	if err := r.writeSecret(ctx, local, src, dst, name); err != nil {
		if lostRace(err) || errors.Is(err, errNameTaken) {
			return nil, err
		}
		c := falseCondition(condition.ReasonSecretFailed, err.Error())
		return &c, nil
	}
	return nil, nil
}

// cachedSecret reads the target Secret from the cache (our Secrets only),
// else among our fresh creates; a miss counts as absent, to be confirmed by
// a create-first write (errNameTaken sends the pass to localSecret).
func (r *reconciler) cachedSecret(ctx context.Context, ns, name string, owner types.UID) (*corev1.Secret, conflict.Local, error) {
	s := &corev1.Secret{}
	key := types.NamespacedName{Namespace: ns, Name: name}
	err := cacheGet(ctx, r.cl.localClient(), key, s)
	switch {
	case err == nil:
		r.justCreated.Delete(secretKey(key))
	case !apierrors.IsNotFound(err):
		return nil, 0, fmt.Errorf("read secret %s: %w", key, err)
	default:
		obj, ok := r.recalled(secretKey(key))
		if !ok {
			return nil, conflict.LocalAbsent, nil
		}
		s = obj.(*corev1.Secret)
	}
	return s, conflict.ClassifySecret(true, s.Labels, s.OwnerReferences, owner), nil
}

// localSecret reads the target Secret: from the cache (our Secrets only),
// else directly, to see a foreign one.
func (r *reconciler) localSecret(ctx context.Context, ns, name string, owner types.UID) (*corev1.Secret, conflict.Local, error) {
	s := &corev1.Secret{}
	key := types.NamespacedName{Namespace: ns, Name: name}
	err := cacheGet(ctx, r.cl.localClient(), key, s)
	if apierrors.IsNotFound(err) {
		err = r.cl.Local.GetAPIReader().Get(ctx, key, s)
	}
	if apierrors.IsNotFound(err) {
		return nil, conflict.LocalAbsent, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read secret %s: %w", key, err)
	}
	return s, conflict.ClassifySecret(true, s.Labels, s.OwnerReferences, owner), nil
}

func (r *reconciler) writeSecret(ctx context.Context, local *unstructured.Unstructured, src, dst *corev1.Secret, name string) error {
	want := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: local.GetNamespace(), Name: name,
			Labels:          map[string]string{conflict.LabelManaged: "true"},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(local, r.gvk)}},
		Type: src.Type,
		Data: src.Data,
	}
	want.OwnerReferences[0].BlockOwnerDeletion = nil
	c := r.cl.localClient()
	switch {
	case dst == nil:
		if err := c.Create(ctx, want); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("create secret %s: %w: %w", klog.KObj(want), errNameTaken, err)
			}
			return fmt.Errorf("create secret %s: %w", klog.KObj(want), err)
		}
		r.rememberCreated(secretKey(client.ObjectKeyFromObject(want)), digestedCopy(want))
	case dst.Type != want.Type:
		// The type of a Secret cannot change: replace it.
		uid := dst.UID // only the Secret read above, never one put there meanwhile
		if err := c.Delete(ctx, dst, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete secret %s to change its type: %w", klog.KObj(dst), err)
		}
		if err := c.Create(ctx, want); err != nil {
			return fmt.Errorf("create secret %s: %w", klog.KObj(want), err)
		}
	case !sameData(dst.Data, want.Data):
		dst.Data = want.Data
		if err := c.Update(ctx, dst); err != nil {
			return fmt.Errorf("update secret %s: %w", klog.KObj(dst), err)
		}
		log.FromContext(ctx).V(1).Info("Updated connection secret", "secret", klog.KObj(dst))
	default:
		return nil
	}
	localWrites.WithLabelValues(r.gvk.GroupKind().String(), "secret").Inc()
	return nil
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// ConnectionSecretType is the type of the connection Secrets Crossplane
// writes for claims.
const ConnectionSecretType = "connection.crossplane.io/v1alpha1"

// ConnectionSecretSelector limits the control-plane cache of Secrets to
// connection Secrets: the namespace's other Secrets are never copied.
var ConnectionSecretSelector = fields.OneTermEqualSelector("type", ConnectionSecretType)
