package sync

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	specReverts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcp_connector_spec_reverts_total",
		Help: "Remote specs changed out of band in the control plane and reverted to the local copy.",
	}, []string{"kind"})
	conflicts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcp_connector_conflicts_total",
		Help: "Pushes refused because the remote object belongs to someone else, by reason.",
	}, []string{"kind", "reason"})
	remoteWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcp_connector_remote_claim_writes_total",
		Help: "Writes of claims into the control plane.",
	}, []string{"kind"})
	localWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcp_connector_local_writes_total",
		Help: "Writes into the app cluster, by what was written.",
	}, []string{"kind", "what"})
)

// Registering in a function called from the connector's wiring, not init():
// only a running connector exports these.
func RegisterMetrics() {
	metrics.Registry.MustRegister(specReverts, conflicts, remoteWrites, localWrites)
}

func (r *reconciler) countConflict(reason string) {
	conflicts.WithLabelValues(r.gvk.GroupKind().String(), reason).Inc()
}
