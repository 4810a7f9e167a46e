// Package cli tests the mcp-connector binary's install, status and uninstall
// commands end to end, against a real app cluster and a real control plane
// with Crossplane: the built binary installs its embedded chart with Helm,
// the connector then runs as a local process with exactly the arguments,
// mounted Secrets and ServiceAccount the chart gave its Deployment (the test
// clusters run no pods), and uninstall must leave every claim in the control
// plane while the app cluster ends up clean.
package cli
