package sync

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/sync/orphan"
)

// deletedWithCRD says whether a claim being deleted was deleted because the
// kind's CRD in the app cluster is being deleted (or is gone): the API
// server's cascade, not a user (deletedByCRD decides from the two deletion
// times). It reads the API server, not the cache: the claim's deletion can
// reach the cache before the CRD's.
func (r *reconciler) deletedWithCRD(ctx context.Context, local *unstructured.Unstructured) (bool, error) {
	if r.crd == "" {
		return false, nil
	}
	crd, err := r.liveCRD(ctx)
	switch {
	case apierrors.IsNotFound(err):
		return deletedByCRD(local.GetDeletionTimestamp(), nil, true), nil
	case err != nil:
		return false, err
	}
	return deletedByCRD(local.GetDeletionTimestamp(), crd.GetDeletionTimestamp(), false), nil
}

// liveCRD reads the kind's CRD from the API server, not the cache: a
// claim's deletion can reach the cache before its CRD's. Metadata only: a
// claim CRD's schema can be large, and only the deletion time is read.
func (r *reconciler) liveCRD(ctx context.Context) (*metav1.PartialObjectMetadata, error) {
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	if err := r.cl.Local.GetAPIReader().Get(ctx, types.NamespacedName{Name: r.crd}, crd); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, err
		}
		return nil, fmt.Errorf("read CRD %s: %w", r.crd, err)
	}
	return crd, nil
}

// orphanForCRD lets the remote claim of a claim deleted with its CRD go, as
// an uninstall does: it stays in the control plane with its composite and
// resources, marked so that it is imported back as a local copy once the API
// is mirrored again (sync/orphan). Then the local claim may go.
func (r *reconciler) orphanForCRD(ctx context.Context, local, remote *unstructured.Unstructured) error {
	secret, _, _ := unstructured.NestedString(local.Object, "spec", "writeConnectionSecretToRef", "name")
	patch, err := orphan.OrphanPatch(secret)
	if err != nil {
		return fmt.Errorf("orphan patch for %s: %w", klog.KObj(remote), err)
	}
	if err := r.cl.remoteClient().Patch(ctx, remote, client.RawPatch(types.MergePatchType, patch)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("orphan remote claim %s: %w", klog.KObj(remote), err)
	}
	log.FromContext(ctx).Info("Claim deleted with its CRD; remote claim kept", "remote", klog.KObj(remote))
	r.event(local, corev1.EventTypeWarning, EventOrphanedByCRD, "The claim's CRD was deleted in the app cluster; the remote claim "+
		remote.GetName()+" was kept in the control plane and comes back here when the API is mirrored again")
	return r.removeFinalizer(ctx, local)
}
