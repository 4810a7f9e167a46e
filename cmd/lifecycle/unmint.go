package lifecycle

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Step 5 of the uninstall: the identity install minted, if it did.

// removeIdentity deletes this cluster's identity in the control plane, with
// the credentials the uninstall used (the identity's own token may do it):
// the ClusterRole first (its binding goes with it through the garbage
// collector), then the ServiceAccount (the Role and the RoleBinding go with
// it, and so does every token of it). Objects not marked as the identity of
// this namespace are left alone. It runs last, once nothing needs the
// control plane any more; a failure says what to delete by hand.
func (u *uninstallRun) removeIdentity(ctx context.Context) error {
	ns := u.settings.ControlPlaneNamespace
	if u.cp == nil {
		return nil
	}
	objs := []client.Object{
		&rbacv1.ClusterRole{},
		&corev1.ServiceAccount{},
	}
	keys := []client.ObjectKey{{Name: IdentityClusterRoleName(ns)}, {Namespace: ns, Name: IdentityName}}
	removed := 0
	for i, o := range objs {
		err := u.cp.Get(ctx, keys[i], o)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case apierrors.IsForbidden(err):
			// An identity may read itself: these credentials are not one.
			say(u.Out, "  The control-plane credentials may not read %s: not an identity minted by install (if install minted one for this namespace anyway: %s)\n", keys[i], removeIdentityAdvice(ns))
			return nil
		case err != nil:
			return fmt.Errorf("read %s of this cluster's identity: %w (if install minted one, delete it with administrator credentials: %s)", keys[i], err, removeIdentityAdvice(ns))
		case o.GetLabels()[LabelIdentityFor] != ns:
			continue
		}
		if err := u.cp.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete %s of this cluster's identity: %w (delete it with administrator credentials: %s)", keys[i], err, removeIdentityAdvice(ns))
		}
		removed++
	}
	if removed == 0 {
		sayln(u.Out, "  No identity minted by install")
		return nil
	}
	say(u.Out, "  Removed ServiceAccount %s/%s and ClusterRole %s, with their bindings and Role\n", ns, IdentityName, IdentityClusterRoleName(ns))
	return nil
}
