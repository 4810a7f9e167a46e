//go:build tools

// Package tools pins the Crossplane command the test harness builds.
package tools

import _ "github.com/crossplane/crossplane/cmd/crossplane"
