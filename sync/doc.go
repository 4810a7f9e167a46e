// Package sync keeps claims of one kind in step between the app cluster and
// the one control-plane namespace that belongs to it: spec, labels and
// annotations go up; status, control-plane-written spec fields and connection
// Secrets come down.
//
// A Syncer is started per claim kind (by crdmirror, as kinds appear) and
// stopped when the kind goes away. The rules for disagreements come from the
// conflict package; the gate (may we talk to the control plane now?) from
// sync/controlplane; the condition vocabulary from sync/condition. This
// package only applies them. It never deletes a remote object unless a user
// deleted the local claim, and never deletes a local claim at all. It creates
// local claims in one case only: when a syncer starts, remote claims that an
// uninstall of this same app cluster orphaned are imported back as local
// copies (importer.go, with the marks of sync/orphan). Outside claims and
// their Secrets it writes one object: the record of pending orphans in the
// connector's own namespace (pending.go), remote claims left untouched while
// the control plane did not answer, marked orphaned once it does.
package sync
