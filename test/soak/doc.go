// Package soak is the chaos run of `make soak` and `make soak-short`: against
// the real API servers and real Crossplane of test/harness, it draws a seeded
// random schedule of claim operations (create, spec update, delete, delete
// with the Orphan policy, local CRD deletion, out-of-band edits and deletes in
// the control plane) interleaved with faults (kill -9 of a connector replica,
// leader hand-over, restart of either API server, partitions and blackholes
// through the fault proxy), checks the product's invariants while it runs and
// at the end, and writes a report. It runs only when MCP_SOAK=1 (the Makefile
// sets it), so `make test` starts no cluster for it.
//
// It owns nothing of the product; it reads the connector only through the two
// clusters and its metrics endpoint.
package soak
