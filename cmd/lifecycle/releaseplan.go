package lifecycle

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/condition"
)

// The decisions of `mcp-connector release`, apart from the calls that carry
// them out: which local claims are stuck, and what releasing each one
// leaves behind.

// ClaimFilter narrows a release to a namespace of the app cluster and to
// claim names; empty fields match everything.
type ClaimFilter struct {
	Namespace string
	Names     []string
}

func (f ClaimFilter) matches(c *unstructured.Unstructured) bool {
	return (f.Namespace == "" || c.GetNamespace() == f.Namespace) && (len(f.Names) == 0 || slices.Contains(f.Names, c.GetName()))
}

// stuckClaim is a local claim held by our finalizer while it is deleted,
// with what releasing it leaves in the control plane.
type stuckClaim struct {
	gvk       schema.GroupVersionKind
	local     *unstructured.Unstructured
	remote    string
	deleteAsk bool // the control plane was already asked to delete it
}

// stuckClaims picks the claims of a kind that are being deleted and still
// carry our finalizer, and that the filter selects.
func stuckClaims(gvk schema.GroupVersionKind, items []unstructured.Unstructured, clusterID string, f ClaimFilter) []stuckClaim {
	var out []stuckClaim
	for i := range items {
		c := &items[i]
		if c.GetDeletionTimestamp().IsZero() || !controllerutil.ContainsFinalizer(c, conflict.Finalizer) || !f.matches(c) {
			continue
		}
		reason := condition.SyncedReason(c)
		out = append(out, stuckClaim{
			gvk: gvk, local: c, remote: sync.RemoteNameOf(clusterID, c),
			deleteAsk: reason == condition.ReasonDeleting || reason == condition.ReasonRemoteDeleting,
		})
	}
	return out
}

// leftBehind says, for one stuck claim, what releasing it leaves behind.
func (s stuckClaim) leftBehind(controlPlaneNamespace string) string {
	head := fmt.Sprintf("%s %s/%s: the remote claim %s stays in control-plane namespace %s", s.gvk.Kind, s.local.GetNamespace(), s.local.GetName(),
		s.remote, controlPlaneNamespace)
	if s.deleteAsk {
		return head + "; the control plane was already asked to delete it, and releasing does not stop that"
	}
	return head + "; its composite resource and cloud resources keep running and are not deleted"
}
