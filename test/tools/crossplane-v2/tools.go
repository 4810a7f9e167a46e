//go:build tools

// Package tools pins the Crossplane v2 command the test harness builds for the second control plane line
// (test/e2ev2).
package tools

import _ "github.com/crossplane/crossplane/v2/cmd/crossplane"
