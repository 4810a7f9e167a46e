package lifecycle

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// namespaceOutcome says what ensureControlPlaneNamespace found or did.
type namespaceOutcome int

const (
	namespaceExisted namespaceOutcome = iota
	namespaceCreated
	// namespaceForbidden: the credentials may neither create nor read it:
	// it may or may not exist.
	namespaceForbidden
)

// ensureControlPlaneNamespace creates the control-plane namespace if it is
// missing and the credentials allow it.
func ensureControlPlaneNamespace(ctx context.Context, cp client.Client, name string) (namespaceOutcome, error) {
	err := cp.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	switch {
	case err == nil:
		return namespaceCreated, nil
	case apierrors.IsAlreadyExists(err):
		return namespaceExisted, nil
	case !apierrors.IsForbidden(err):
		return 0, fmt.Errorf("create namespace %s in the control plane: %w", name, err)
	}
	// May not create namespaces; it may exist all the same.
	if err := cp.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{}); err == nil {
		return namespaceExisted, nil
	}
	return namespaceForbidden, nil
}

// namespaceAdvice tells a user what to do when the credentials may not
// create the control-plane namespace.
func namespaceAdvice(name string) string {
	return fmt.Sprintf(`The control-plane credentials may neither create namespace %[1]s nor see whether it exists.
If it does not exist, ask an administrator of the control plane to create it and to let these credentials use it:
  kubectl create namespace %[1]s
The connector waits for it: it starts syncing as soon as the namespace exists and is usable.`, name)
}
