package e2ev2

import (
	"os"
	"testing"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// world is shared by every test of the package, as in test/e2e: a Crossplane v2 control plane and an app
// cluster. Tests must not stop it or leave cluster-wide state behind; each works in namespaces of its own.
var world *harness.World

func TestMain(m *testing.M) {
	opts := harness.WorldOptions{CrossplaneV2: true}
	os.Exit(harness.RunWithWorldOptions(m, "e2ev2", opts, func(w *harness.World) { world = w }))
}
