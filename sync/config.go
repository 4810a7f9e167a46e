package sync

import (
	"time"

	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync/controlplane"
)

// Field managers. Spec up and status down own disjoint fields, each under its
// own server-side-apply manager, and are never written in one call.
const (
	// FieldManagerUp owns what we push into the control plane.
	FieldManagerUp = "mcp-connector"
	// FieldManagerDown owns the control-plane-written spec fields that we
	// write on local claims (spec.resourceRef and friends).
	FieldManagerDown = "mcp-connector-down"
	// FieldManagerStatus owns the status of local claims: the copied remote
	// status and our ControlPlaneSynced condition, written by server-side
	// apply on the status subresource.
	FieldManagerStatus = "mcp-connector-status"
)

// Config is what every syncer of one connector shares.
type Config struct {
	// ClusterID identifies this app cluster in the control plane.
	ClusterID string
	// Namespace is the control-plane namespace of this app cluster.
	Namespace string
	// Fields and Metadata say what goes up and what comes down.
	Fields   conflict.FieldPolicy
	Metadata conflict.MetadataPolicy
	// Adopt allows taking over foreign remote claims of the mapped name.
	Adopt bool
	// RecreateGrace is how long a remote claim deleted by someone else stays
	// gone before it is re-created from the local copy.
	RecreateGrace time.Duration
	// StalePeriod is how long the control plane may be unreachable before the
	// claim's copied Synced/Ready conditions are marked Unknown (0: never).
	StalePeriod time.Duration
	// PendingNamespace is the connector's own namespace in the app cluster,
	// where the pending orphans are recorded (PendingOrphansConfigMap). A
	// claim with deletion policy Orphan deleted while the control plane does
	// not answer goes at once only when it is set; else it waits.
	PendingNamespace string
	// Workers is the number of concurrent reconciles per kind.
	Workers int
	// OnClaimChange, if not nil, is called whenever a claim's
	// ControlPlaneSynced condition changes status or reason (after the
	// status write), and when a claim's finalizer is removed (the claim is
	// going away): the moments at which counts of claims by state change.
	// It is called from the reconcile workers and must return at once: it
	// may not block or do I/O (coalesce, e.g. by a non-blocking send on a
	// channel with a buffer of one, and count elsewhere).
	OnClaimChange func()
}

// Clusters are the two sides a syncer works between.
type Clusters struct {
	// Local is the app cluster (the manager's cluster).
	Local cluster.Cluster
	// Remote is the control plane, with a cache restricted to Namespace and
	// to objects carrying our cluster id.
	Remote cluster.Cluster
	// Gate says whether syncing into the control plane is allowed now.
	Gate *controlplane.Gate
	// Recorder writes Events on local claims.
	Recorder record.EventRecorder
}

func (c Clusters) localClient() client.Client  { return c.Local.GetClient() }
func (c Clusters) remoteClient() client.Client { return c.Remote.GetClient() }
