package e2e

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/orphan"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// A claim skipped at import because its namespace is missing in the app
// cluster is imported as soon as that namespace is created, by the running
// connector (no restart): bound to the very same remote claim and
// composite, with its connection Secret under the recorded name. The remote
// claim is made as an uninstall of this cluster leaves it.
func TestImportRetriedWhenNamespaceAppears(t *testing.T) {
	r := newFaultRig(t)
	r.drainOnCleanup(t)
	r.claims = "arrives-later"
	before := map[string]*unstructured.Unstructured{"late": orphanedRemote(t, r, "late", 1)}

	c := r.start(t)
	harness.Eventually(t, waitTimeout, func() error {
		if !strings.Contains(c.Logs(), "its namespace does not exist in this cluster") {
			return fmt.Errorf("the connector has not skipped the claim yet")
		}
		return nil
	})
	create(t, r.app.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.claims}})
	r.converge(t, map[string]int64{"late": 1})
	r.checkImported(t, before)
}

// orphanedRemote creates the remote claim of the rig's claim name as an
// uninstall of the rig's cluster leaves it (orphaned, origin marks, the
// local Secret name recorded) and waits until Crossplane bound it.
func orphanedRemote(t *testing.T, r *faultRig, name string, count int64) *unstructured.Unstructured {
	t.Helper()
	remote := harness.NewExampleClaim(r.namespace, sync.RemoteName(r.clusterID, r.claims, name), count)
	remote.SetLabels(map[string]string{conflict.LabelClaimNamespace: r.claims})
	remote.SetAnnotations(map[string]string{conflict.AnnotationClusterID: r.clusterID, conflict.AnnotationClaimNamespace: r.claims,
		conflict.AnnotationClaimName: name, conflict.AnnotationOrphaned: orphan.OrphanedByUninstall, orphan.AnnotationLocalSecretName: localSecretName(name)})
	create(t, world.ControlPlane.Client, remote)
	return r.waitRemote(t, name, hasResourceRef)
}
