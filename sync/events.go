package sync

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mcp-connector/mcp-connector/sync/condition"
)

// Reasons of the Events on local claims for what the connector did. Routine
// success (a remote claim created, a connection Secret copied) raises none:
// the ControlPlaneSynced condition says it. A change of that condition raises
// an Event with the condition's reason (see announced).
const (
	EventRecreated      = "RecreatedInControlPlane"
	EventAdopted        = "Adopted"
	EventSpecReverted   = "SpecReverted"
	EventDeletingRemote = "DeletingInControlPlane"
	EventOrphaned       = "Orphaned"
	EventOrphanedByCRD  = "OrphanedByCRDDeletion"
	// EventOrphanPending: the claim went while the control plane did not
	// answer; its remote claim is marked orphaned once it answers.
	EventOrphanPending = "OrphanPending"
)

func (r *reconciler) event(local *unstructured.Unstructured, typ, reason, msg string) {
	r.cl.Recorder.Event(local, typ, reason, msg)
}

// announce emits a Warning Event when our condition changes to a reason a
// user should hear about, and counts conflicts.
func (r *reconciler) announce(local *unstructured.Unstructured, before, after *metav1.Condition) {
	if !announced(before, after) {
		return
	}
	switch after.Reason {
	case condition.ReasonForeignObject, condition.ReasonOwnedByOtherCluster, condition.ReasonNameCollision, condition.ReasonOwnedByOtherCopy:
		r.countConflict(after.Reason)
	}
	r.event(local, corev1.EventTypeWarning, after.Reason, after.Message)
}

// announced says whether a change of our condition from before to after is
// worth a Warning Event: only a new reason, and not one that is good news,
// a wait the user asked for, or an outage (gate reasons are left to the
// Connection: one outage, not one Event a claim).
func announced(before, after *metav1.Condition) bool {
	if after == nil || (before != nil && before.Reason == after.Reason) {
		return false
	}
	switch after.Reason {
	case condition.ReasonSynced, condition.ReasonUnreachable, condition.ReasonStarting,
		condition.ReasonDeleting, condition.ReasonRemoteDeleting:
		return false
	}
	return true
}

// conditionChanged says whether our condition changed status or reason:
// what moves a claim from one count to another.
func conditionChanged(before, after *metav1.Condition) bool {
	if before == nil || after == nil {
		return before != after
	}
	return before.Status != after.Status || before.Reason != after.Reason
}
