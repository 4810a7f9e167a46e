package lifecycle

import (
	"context"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// Step 3 of the uninstall: clean the app cluster.

// cleanLocal removes, per mirrored kind, the connection Secrets the
// connector wrote, then the finalizers and the local claims, then the
// mirrored CRD and its roles. The remote claims are orphaned already: none of this
// can reach the control plane.
func (u *uninstallRun) cleanLocal(ctx context.Context) error {
	kinds, err := u.mirroredKinds(ctx)
	if err != nil {
		return err
	}
	for _, k := range kinds {
		if err := u.stillSafe(ctx, k); err != nil {
			return err
		}
		// Secrets first: their owner references would let the garbage
		// collector take them anyway, but not before the count is in.
		s, err := u.deleteSecrets(ctx, k)
		if err != nil {
			return err
		}
		n, err := u.deleteClaims(ctx, k)
		if err != nil {
			return err
		}
		if err := u.deleteCRD(ctx, k); err != nil {
			return err
		}
		say(u.Out, "  %s: %d local claim(s) and %d connection Secret(s) removed, CRD deleted\n", k.crd, n, s)
	}
	return nil
}

// stillSafe checks again, right before the local copies of a kind go, that
// no connector has come back and no remote claim of the kind is marked as
// this cluster's (cleanAllowed): a connector started meanwhile could have
// imported them.
func (u *uninstallRun) stillSafe(ctx context.Context, k claimKind) error {
	stopped, err := u.connectorStopped(ctx, &progress{out: io.Discard})
	if err != nil {
		return err
	}
	var marked []string
	if stopped {
		if marked, err = u.marked(ctx, k); err != nil {
			return err
		}
	}
	return cleanAllowed(stopped, u.settings.ControlPlaneNamespace, marked)
}

// deleteClaims removes our finalizer from every local claim of a kind and
// deletes it, then waits until none is left.
func (u *uninstallRun) deleteClaims(ctx context.Context, k claimKind) (int, error) {
	n := 0
	err := eachPage(ctx, u.app, k.list(), nil, func(items []unstructured.Unstructured) error {
		for i := range items {
			if err := u.deleteClaim(ctx, k, &items[i]); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, pollUntil(ctx, u.Timeout, func() (bool, error) {
		left := k.list()
		if err := u.app.List(ctx, left, client.Limit(1)); err != nil {
			return false, err
		}
		return len(left.Items) == 0, nil
	})
}

// deleteClaim removes our finalizer from a local claim and deletes it.
func (u *uninstallRun) deleteClaim(ctx context.Context, k claimKind, c *unstructured.Unstructured) error {
	if controllerutil.ContainsFinalizer(c, conflict.Finalizer) {
		base := c.DeepCopy()
		controllerutil.RemoveFinalizer(c, conflict.Finalizer)
		if err := u.app.Patch(ctx, c, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("remove the finalizer of %s %s/%s: %w", k.gvk.Kind, c.GetNamespace(), c.GetName(), err)
		}
	}
	if err := u.app.Delete(ctx, c); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete %s %s/%s: %w", k.gvk.Kind, c.GetNamespace(), c.GetName(), err)
	}
	return nil
}

// deleteSecrets deletes the connection Secrets the connector wrote for
// claims of a kind (connectionSecrets).
func (u *uninstallRun) deleteSecrets(ctx context.Context, k claimKind) (int, error) {
	secrets := &corev1.SecretList{}
	if err := u.app.List(ctx, secrets, client.MatchingLabels{conflict.LabelManaged: "true"}); err != nil {
		return 0, fmt.Errorf("list connection Secrets: %w", err)
	}
	n := 0
	for _, key := range connectionSecrets(secrets.Items, k.gvk) {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
		if err := u.app.Delete(ctx, s); client.IgnoreNotFound(err) != nil {
			return n, fmt.Errorf("delete connection Secret %s: %w", key, err)
		}
		n++
	}
	return n, nil
}

// deleteCRD deletes a mirrored CRD (checked to be ours once more) with its
// aggregated roles, and waits until it is gone.
func (u *uninstallRun) deleteCRD(ctx context.Context, k claimKind) error {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := u.app.Get(ctx, client.ObjectKey{Name: k.crd}, crd); apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("read CRD %s: %w", k.crd, err)
	}
	if conflict.ClassifyCRD(true, crd.Labels, u.settings.Connection) != conflict.LocalOurs {
		return nil
	}
	if err := u.deleteRoles(ctx, crd.Name); err != nil {
		return err
	}
	uid := crd.UID
	if err := u.app.Delete(ctx, crd, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete CRD %s: %w", crd.Name, err)
	}
	return pollUntil(ctx, u.Timeout, func() (bool, error) {
		err := u.app.Get(ctx, client.ObjectKey{Name: crd.Name}, &apiextensionsv1.CustomResourceDefinition{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, client.IgnoreNotFound(err)
	})
}

// deleteRoles deletes the mirror's aggregated ClusterRoles of a CRD (those
// labelled as ours).
func (u *uninstallRun) deleteRoles(ctx context.Context, crd string) error {
	for _, name := range mirroredRoles(crd) {
		role := &rbacv1.ClusterRole{}
		if err := u.app.Get(ctx, client.ObjectKey{Name: name}, role); err == nil && role.Labels[conflict.LabelManaged] == "true" {
			if err := u.app.Delete(ctx, role); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("delete ClusterRole %s: %w", name, err)
			}
		}
	}
	return nil
}
