// Package conflict decides every disagreement between the app cluster and the
// control plane: which side owns which field, whether a remote object is ours,
// whether a local Secret or CRD may be written, and who holds a control-plane
// namespace.
//
// It is pure logic. Inputs are objects or their metadata (last known, local,
// remote); outputs are decisions. It imports no client and performs no I/O, so
// every rule is covered by table tests. The sync and crdmirror packages act on
// the decisions; docs/conflict-rules.md explains them for platform engineers.
package conflict
