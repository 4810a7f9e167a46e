package harness

// binHelm is the pinned helm that `make tools` builds (keep the version in
// step with HELM_VERSION in the Makefile).
var binHelm = binary{env: "MCP_HELM", file: "helm-v3.22.0"}

// HelmPath returns the pinned helm: $MCP_HELM, else <repo>/bin/helm-<version>;
// the error says how to build it.
func HelmPath() (string, error) { return binHelm.path() }
