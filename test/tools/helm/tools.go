//go:build tools

// Package tools pins the helm command that the chart tests (test/chart) use;
// `make tools` builds it into ./bin.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
