package controlplane

import (
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mcp-connector/mcp-connector/sync/condition"
)

// Pure decisions of the Monitor: what the local record says of a holder
// record, and what the cluster-id Lease says of this process.

// recordVerdict is what the local record makes of the holder record found in
// the control plane.
type recordVerdict int

const (
	// verdictOpen: the holder is ours and is the one recorded.
	verdictOpen recordVerdict = iota
	// verdictRecord: the holder is ours and nothing (or another namespace)
	// is recorded: record it.
	verdictRecord
	// verdictClaim: there is no holder and this cluster never held the
	// namespace: claim it, creating the namespace if needed (first install).
	verdictClaim
	// verdictDeleted: this cluster held the namespace, and its holder record
	// is gone (the namespace was deleted) or is another one (re-created by
	// someone else): stop, create nothing.
	verdictDeleted
)

// judgeRecord decides from the local record and the uid of the holder
// record that names this cluster ("" when there is none).
func judgeRecord(rec Record, namespace string, holderUID types.UID) recordVerdict {
	held := rec.Namespace == namespace && rec.HolderUID != ""
	switch {
	case holderUID == "" && held:
		return verdictDeleted
	case holderUID == "":
		return verdictClaim
	case !held:
		return verdictRecord
	case rec.HolderUID == holderUID:
		return verdictOpen
	}
	return verdictDeleted
}

// namespaceDeletedState closes the gate for a namespace this cluster held
// and lost: nothing is re-created until a person asks.
func namespaceDeletedState(namespace string, holderUID types.UID) GateState {
	what := fmt.Sprintf("control-plane namespace %s, which this cluster held, was deleted (or its holder record %s was)", namespace, HolderName)
	if holderUID != "" {
		what = fmt.Sprintf("control-plane namespace %s was re-created without this connector (holder record %s uid %s is not the one this cluster held)", namespace, HolderName, holderUID)
	}
	return GateState{Reachable: true, Reason: condition.ReasonNamespaceDeleted, Message: what +
		"; not re-creating it, nothing is synced: run `mcp-connector install` for this namespace again to re-create it and push every claim anew"}
}

// leaseState is the gate state while this process does not hold the
// cluster-id Lease; ok is true when it does.
func leaseState(v leaseView, self, lease, namespace, clusterID string) (s GateState, ok bool) {
	var status apierrors.APIStatus
	switch {
	case v.Holding:
		return GateState{}, true
	case v.Err != nil && (apierrors.IsForbidden(v.Err) || apierrors.IsUnauthorized(v.Err)):
		return GateState{Reachable: true, Reason: condition.ReasonForbidden, Message: fmt.Sprintf(
			"control plane refused our credentials for Lease %s in namespace %s (they need coordination.k8s.io leases get, create, update there): %v", lease, namespace, v.Err)}, false
	case v.Holder != "" && v.Holder != self:
		return GateState{Reachable: true, Reason: condition.ReasonClusterIDInUse, Message: fmt.Sprintf(
			"another live connector with cluster id %q holds Lease %s in control-plane namespace %s (identity %s); refusing to sync. "+
				"A cloned or restored app cluster keeps kube-system's uid: give one of them a distinct --cluster-id. "+
				"A connector that was killed holds it until it expires (%s)", clusterID, lease, namespace, v.Holder, leaseDuration)}, false
	case v.Err != nil && !errors.As(v.Err, &status):
		return stateForError(v.Err, namespace), false
	}
	msg := fmt.Sprintf("acquiring Lease %s in control-plane namespace %s", lease, namespace)
	if v.Err != nil {
		msg += ": " + v.Err.Error()
	}
	return GateState{Reachable: true, Reason: condition.ReasonStarting, Message: msg}, false
}
