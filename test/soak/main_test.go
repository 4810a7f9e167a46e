package soak

import (
	"fmt"
	"os"
	"testing"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// world is the soak's own control plane and app cluster.
var world *harness.World

// TestMain starts the clusters only for `make soak` (MCP_SOAK=1): `go test
// ./...` passes through this package without starting anything.
func TestMain(m *testing.M) {
	if os.Getenv("MCP_SOAK") != "1" {
		fmt.Println("soak: skipped (run it with make soak or make soak-short)")
		os.Exit(0)
	}
	os.Exit(harness.RunWithWorld(m, "soak", func(w *harness.World) { world = w }))
}
