package condition

import "github.com/mcp-connector/mcp-connector/conflict"

// Type is the type of the connector's own condition on every local claim: is
// the local copy in step with the control plane, and if not, why.
const Type = "ControlPlaneSynced"

// Reasons of that condition. The gate's reasons (the control plane's
// reachability and the namespace's ownership) are also the reasons of the
// Connection's Ready condition.
const (
	// ReasonSynced: the local copy and the control plane are in step.
	ReasonSynced = "Synced"

	// The gate is closed: the copy keeps its last known state.
	ReasonReady                = "Ready"
	ReasonStarting             = "Starting"
	ReasonUnreachable          = "ControlPlaneUnreachable"
	ReasonNamespaceHeld        = "NamespaceHeldByOtherCluster"
	ReasonNamespaceUnavailable = "NamespaceUnavailable"
	ReasonForbidden            = "Forbidden"
	// ReasonNamespaceDeleted: the control-plane namespace (or its holder
	// record) that this cluster held is gone; it is re-created only when a
	// person asks (`mcp-connector install` again).
	ReasonNamespaceDeleted = "NamespaceDeleted"
	// ReasonClusterIDInUse: another live connector with this cluster id
	// holds the cluster's Lease in the control-plane namespace (a cloned or
	// restored app cluster keeps kube-system's uid).
	ReasonClusterIDInUse = "ClusterIDInUse"

	// The remote name belongs to someone else (decided by package conflict).
	ReasonOwnedByOtherCluster = conflict.ReasonOwnedByOtherCluster
	ReasonForeignObject       = conflict.ReasonForeignObject
	ReasonNameCollision       = conflict.ReasonNameCollision
	ReasonOwnedByOtherCopy    = conflict.ReasonOwnedByOtherCopy

	// The connection Secret could not be copied.
	ReasonSecretConflict = "SecretConflict"
	ReasonSecretFailed   = "SecretFailed"

	// The remote claim is going or gone.
	ReasonRemoteDeleting = "RemoteDeleting"
	ReasonRemoteDeleted  = "RemoteDeleted"
	ReasonDeleting       = "Deleting"

	// The control plane rejected the claim.
	ReasonPushFailed = "PushFailed"
)
