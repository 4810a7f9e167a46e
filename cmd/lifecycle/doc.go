// Package lifecycle is what the CLI verbs of mcp-connector do to a cluster:
// install the chart embedded in the binary as a Helm release (Install), read
// the state of the connections (Status), and uninstall in the one order that
// keeps every remote claim safe (Uninstall): stop the connector, orphan
// every remote claim of this cluster in the control plane, and only once
// none is left marked as this cluster's, clean the app cluster and remove
// the release.
//
// The decisions of the uninstall (which kinds, which patch for which claim,
// what goes locally and in which order, when cleaning is allowed) are pure
// functions in plan.go; the rest talks to the API servers and is tested end
// to end in test/cli.
//
// It owns no flags and no command: cmd/mcp-connector parses the flags,
// calls it and prints the outcome. It does not sync or mirror anything
// (sync, crdmirror) and does not define the orphan marks (sync/orphan).
package lifecycle
