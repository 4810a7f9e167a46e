// Package e2e holds the end-to-end tests: real kube-apiservers for the app
// cluster and the control plane, real Crossplane v1.20 with provider-nop in
// the control plane, and (in tests that need it) the mcp-connector binary
// between them. TestMain starts that world once for the package; each test
// works in namespaces of its own. The binaries come from `make tools`.
package e2e
