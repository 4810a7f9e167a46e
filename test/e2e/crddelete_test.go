package e2e

import (
	"context"
	"fmt"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// Deleting the mirrored CRD in the app cluster (kubectl delete crd, a GitOps
// prune) makes the API server delete every claim of the kind. Those deletes
// are not a user's: the remote claims stay, with the same uid, and once the
// API is mirrored again the claims come back as local copies of them.
func TestLocalCRDDeletedKeepsRemoteClaims(t *testing.T) {
	sharedConnector(t)
	ctx := context.Background()
	group := "crddelete.e2e.starter.org"
	crdName := "widgets." + group
	widgetAPI(t, group)
	w := newWidget(t, group)
	remote := waitRemote(t, w, func(*unstructured.Unstructured) error { return nil })
	before := waitLocal(t, w, func(u *unstructured.Unstructured) error {
		if !controllerutilContains(u.GetFinalizers(), conflict.Finalizer) {
			return fmt.Errorf("no finalizer yet")
		}
		return nil
	})

	if err := world.App.Client.Delete(ctx, &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: crdName}}); err != nil {
		t.Fatal(err)
	}
	// The claim comes back: a new local object (new uid) bound to the same
	// remote claim, which carries this cluster's marks again.
	harness.Eventually(t, 2*waitTimeout, func() error {
		got := w.DeepCopy()
		if err := world.App.Client.Get(ctx, client.ObjectKeyFromObject(w), got); err != nil {
			return fmt.Errorf("local claim not back yet: %w", err)
		}
		if got.GetUID() == before.GetUID() {
			return fmt.Errorf("the local claim was not deleted yet")
		}
		r, err := remoteOf(ctx, w)
		if err != nil {
			return fmt.Errorf("remote claim: %w", err)
		}
		if r.GetUID() != remote.GetUID() || !r.GetDeletionTimestamp().IsZero() {
			return fmt.Errorf("the remote claim was deleted or replaced: uid %s -> %s, deleting %v", remote.GetUID(), r.GetUID(), r.GetDeletionTimestamp())
		}
		if r.GetLabels()[conflict.LabelClusterID] != sharedClusterID {
			return fmt.Errorf("the remote claim is not imported yet (labels %v, annotations %v)", r.GetLabels(), r.GetAnnotations())
		}
		return nil
	})
	waitEvent(t, before, "OrphanedByCRDDeletion")
}
