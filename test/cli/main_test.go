package cli

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

// worldStartTimeout bounds the start of the world, including the wait for
// the machine's control-plane lock that another test package may hold.
const worldStartTimeout = 15 * time.Minute

// world is shared by every test of the package; tests work in namespaces of
// their own and leave no cluster-wide state behind.
var world *harness.World

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	// envtest logs through controller-runtime; the process logs tell more.
	ctrllog.SetLogger(logr.Discard())
	ctx, cancel := context.WithTimeout(context.Background(), worldStartTimeout)
	defer cancel()
	start := time.Now()
	w, err := harness.StartWorld(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: start the clusters: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "cli: clusters up in %s (%s)\n", time.Since(start).Round(time.Millisecond), w)
	world = w
	code := m.Run()
	if err := w.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: stop the clusters: %v\n", err)
		return 1
	}
	return code
}
