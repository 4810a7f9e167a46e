// Package connection reports on the Connection resource: the connector's own
// cluster-scoped status object in the app cluster (`kubectl get connection`).
// It installs the Connection CRD, records the state of every claim API the
// mirror has seen (States), and writes the Connection's status from the
// control-plane gate, those states and the local claims' counts.
//
// It mirrors nothing and syncs nothing: crdmirror and sync feed it.
package connection
