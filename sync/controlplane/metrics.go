package controlplane

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	// The control plane's gauges have no labels; they are vectors so that
	// nothing is exported before the first probe (and nothing by a replica
	// that is not the leader, which does not probe): a 0 would read as
	// "unreachable".
	cpReachable = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mcp_connector_control_plane_reachable",
		Help: "1 if the control plane's API server answered the last probe, else 0.",
	}, nil)
	cpReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mcp_connector_control_plane_ready",
		Help: "1 if claims are being synced (control plane reachable and its namespace held by this cluster), else 0.",
	}, nil)
	cpSince = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mcp_connector_control_plane_since_timestamp_seconds",
		Help: "Unix time at which reachable or ready (or the reason for not being ready) last changed.",
	}, nil)
	cpLastContact = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mcp_connector_control_plane_last_contact_timestamp_seconds",
		Help: "Unix time at which the control plane last answered a probe.",
	}, nil)
	cpLeaseRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcp_connector_control_plane_lease_requests_total",
		Help: "Requests for the cluster-id Lease in the control-plane namespace, by verb (get, create, update); also counted in rest_client_requests_total.",
	}, []string{"verb"})
	cpLeaseLost = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcp_connector_control_plane_lease_lost_total",
		Help: "Times this process lost the cluster-id Lease it held because a renewal failed within the renew deadline (not counting releases); each loss closes the gate until the Lease is held again.",
	}, nil)
)

// RegisterMetrics registers the gate's gauges with controller-runtime's
// registry. It is called from the connector's wiring, not init(): only a
// running connector exports these.
func RegisterMetrics() {
	metrics.Registry.MustRegister(cpReachable, cpReady, cpSince, cpLastContact, cpLeaseRequests, cpLeaseLost)
}

// observeGate exports a gate state.
func observeGate(s GateState) {
	cpReachable.WithLabelValues().Set(boolGauge(s.Reachable))
	cpReady.WithLabelValues().Set(boolGauge(s.Open))
	cpSince.WithLabelValues().Set(unixSeconds(s.Since))
	if !s.LastContact.IsZero() {
		cpLastContact.WithLabelValues().Set(unixSeconds(s.LastContact))
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
