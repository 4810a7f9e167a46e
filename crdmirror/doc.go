// Package crdmirror copies the claim APIs that a Crossplane control plane
// offers into the app cluster and keeps them current.
//
// For every CompositeResourceDefinition that offers a claim, the claim CRD
// that Crossplane generated is mirrored into the app cluster, marked as ours,
// with RBAC roles that aggregate to admin, edit and view; a per-kind syncer
// (package sync) is started for it. A CRD we do not own is never touched. A
// mirrored CRD is deleted only when the control plane was seen to withdraw the
// API and no local claims of the kind remain. The Connection resource reports
// what is mirrored, what is refused and whether the control plane answers.
package crdmirror
