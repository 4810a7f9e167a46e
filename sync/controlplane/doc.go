// Package controlplane is the connection to the control plane: is its API
// server reachable now, and does this app cluster hold its control-plane
// namespace. The Monitor probes (one read of the holder ConfigMap, a write
// only to claim a free namespace) and keeps the Gate current; syncers and the
// mirror read the Gate before they touch the control plane and subscribe to
// its changes.
//
// It syncs no claim and mirrors no CRD.
package controlplane
