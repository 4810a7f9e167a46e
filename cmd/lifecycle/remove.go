package lifecycle

import (
	"context"
	"fmt"

	"helm.sh/helm/v3/pkg/action"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
)

// Step 4 of the uninstall: the Connection and the release.

// removeRelease deletes the Connection (and its CRD when no other Connection
// is left), the Lease, the connector's local record, the release and the
// kubeconfig Secret install wrote.
func (u *uninstallRun) removeRelease(ctx context.Context) error {
	conn := &unstructured.Unstructured{}
	conn.SetGroupVersionKind(connection.GVK)
	conn.SetName(u.settings.Connection)
	if err := u.app.Delete(ctx, conn); client.IgnoreNotFound(err) != nil && !meta.IsNoMatchError(err) {
		return fmt.Errorf("delete Connection %s: %w", u.settings.Connection, err)
	}
	if err := u.removeConnectionCRD(ctx); err != nil {
		return err
	}
	lease := &coordinationv1.Lease{}
	key := u.leaseKey()
	lease.Namespace, lease.Name = key.Namespace, key.Name
	if err := u.app.Delete(ctx, lease); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete Lease %s/%s: %w", lease.Namespace, lease.Name, err)
	}
	if _, err := ResetState(ctx, u.app, u.release.Namespace, u.settings.Connection); err != nil {
		return err
	}
	un := action.NewUninstall(u.helm)
	un.Wait, un.Timeout = false, u.Timeout
	if _, err := un.Run(u.release.Name); err != nil {
		return fmt.Errorf("uninstall Helm release %s: %w", u.release.Name, err)
	}
	say(u.Out, "  Helm release %s uninstalled\n", u.release.Name)
	return u.removeKubeconfigSecret(ctx)
}

// removeKubeconfigSecret deletes the control plane's kubeconfig Secret that
// install stored, if install stored it.
func (u *uninstallRun) removeKubeconfigSecret(ctx context.Context) error {
	secret := &corev1.Secret{}
	key := types.NamespacedName{Namespace: u.release.Namespace, Name: kubeconfigSecretName(u.release.Name)}
	if err := u.app.Get(ctx, key, secret); err != nil || secret.Labels[LabelCreatedBy] != "cli" {
		return nil
	}
	if err := u.app.Delete(ctx, secret); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete Secret %s: %w", key, err)
	}
	say(u.Out, "  Secret %s (the control plane's kubeconfig that install stored) deleted\n", key)
	return nil
}

// removeConnectionCRD deletes the Connection CRD once no Connection is left
// (another connector of this cluster may still use it).
func (u *uninstallRun) removeConnectionCRD(ctx context.Context) error {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(connection.GVK.GroupVersion().WithKind("ConnectionList"))
	err := u.app.List(ctx, list)
	switch {
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("list Connections: %w", err)
	}
	for _, c := range list.Items {
		if c.GetName() != u.settings.Connection && c.GetDeletionTimestamp().IsZero() {
			return nil
		}
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	crd.Name = connection.CRD().Name
	if err := u.app.Delete(ctx, crd); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete CRD %s: %w", crd.Name, err)
	}
	return nil
}
