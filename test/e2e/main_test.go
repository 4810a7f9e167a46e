package e2e

import (
	"os"
	"testing"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// world is shared by every test of the package. Tests must not stop it or
// change cluster-wide state they do not clean up; a test that needs the
// connector starts its own with world.StartConnector, in namespaces of its
// own (harness.NewNamespace). TestMain starts and stops it
// (harness.RunWithWorld); a world that does not start fails the package.
var world *harness.World

func TestMain(m *testing.M) {
	os.Exit(harness.RunWithWorld(m, "e2e", func(w *harness.World) { world = w }))
}
