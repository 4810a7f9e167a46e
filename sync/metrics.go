package sync

import (
	"time"

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
	echoesDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mcp_connector_echo_events_dropped_total",
		Help: "Watch events of the connector's own writes that started no pass (the pass that wrote had done the work).",
	})
	lastSync = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mcp_connector_last_sync_timestamp_seconds",
		Help: "Unix time at which a claim of this kind was last brought in step with the control plane.",
	}, []string{"kind"})
)

// RegisterMetrics registers the connector's metrics with controller-runtime's
// registry, next to its workqueue metrics (workqueue_depth{name="claim-..."}
// is the queue depth of each kind's syncer). It is called from the
// connector's wiring, not init(): only a running connector exports these.
func RegisterMetrics() {
	metrics.Registry.MustRegister(specReverts, conflicts, remoteWrites, localWrites, lastSync, echoesDropped)
}

func (r *reconciler) countConflict(reason string) {
	conflicts.WithLabelValues(r.gvk.GroupKind().String(), reason).Inc()
}

// markSynced records that a claim of this kind was just brought in step.
func (r *reconciler) markSynced() {
	lastSync.WithLabelValues(r.gvk.GroupKind().String()).Set(unixSeconds(r.now()))
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
