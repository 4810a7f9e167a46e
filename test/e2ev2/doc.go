// Package e2ev2 holds the end-to-end tests that need Crossplane v2: its control plane (harness.StartControlPlane
// with CrossplaneV2) composes through function-patch-and-transform, serves the legacy claim API of examples/ and
// the v2 example XRDs of test/harness/crossplanev2/. The claim tests of test/e2e run against this line too,
// with MCP_E2E_CROSSPLANE=v2 (see the Makefile's test target).
package e2ev2
