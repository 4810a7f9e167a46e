//go:build tools

// Package tools pins the provider-nop command the test harness builds.
package tools

import _ "github.com/crossplane-contrib/provider-nop/cmd/provider"
