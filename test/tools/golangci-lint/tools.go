//go:build tools

// Package tools pins the golangci-lint command that `make lint` builds.
package tools

import _ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
