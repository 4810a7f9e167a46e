// Package controlplane is the connection to the control plane: is its API
// server reachable now, does this app cluster hold its control-plane
// namespace, and does this process hold the cluster-id Lease there. The
// Monitor probes (one read of the holder ConfigMap, a write only to claim a
// free namespace), remembers in the app cluster which namespace it held (so
// that a namespace deleted by its administrator is not re-created), runs the
// Lease's election while the namespace is ours, and keeps the Gate current;
// syncers and the mirror read the Gate before they touch the control plane
// and subscribe to its changes.
//
// It syncs no claim and mirrors no CRD.
package controlplane
