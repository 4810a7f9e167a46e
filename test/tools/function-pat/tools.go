//go:build tools

// Package tools pins function-patch-and-transform, the composition function the Crossplane v2 control plane of
// the tests runs as a local process (test/harness/function.go).
package tools

import _ "github.com/crossplane-contrib/function-patch-and-transform"
