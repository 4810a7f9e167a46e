package cli

import (
	"os"
	"testing"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// world is shared by every test of the package; tests work in namespaces of
// their own and leave no cluster-wide state behind.
var world *harness.World

func TestMain(m *testing.M) {
	os.Exit(harness.RunWithWorld(m, "cli", func(w *harness.World) { world = w }))
}
