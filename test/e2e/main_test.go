package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// worldStartTimeout bounds the start of the world. Each start-up step has a
// deadline of its own (a minute or two); this one is long because it includes
// waiting for the machine's control-plane lock, which another test package or
// the demo may hold while it runs (see the harness package documentation).
const worldStartTimeout = 15 * time.Minute

// world is shared by every test of the package. Tests must not stop it or
// change cluster-wide state they do not clean up; a test that needs the
// connector starts its own with world.StartConnector, in namespaces of its
// own (harness.NewNamespace).
var world *harness.World

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests starts the world, runs the tests and stops the world. A world that
// does not start (binaries missing: run `make tools`) fails the package.
func runTests(m *testing.M) int {
	// envtest logs through controller-runtime; the process logs tell more.
	ctrllog.SetLogger(logr.Discard())
	ctx, cancel := context.WithTimeout(context.Background(), worldStartTimeout)
	defer cancel()
	start := time.Now()
	w, err := harness.StartWorld(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: start the end-to-end clusters: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: clusters up in %s (%s)\n", time.Since(start).Round(time.Millisecond), w)
	world = w
	code := m.Run()
	if err := w.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: stop the end-to-end clusters: %v\n", err)
		return 1
	}
	return code
}
