package chart

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// worldStartTimeout bounds the start of the clusters, including the wait for
// the machine's control-plane lock that another test package may hold.
const worldStartTimeout = 15 * time.Minute

// shared is the app cluster and control plane of the tests that need
// clusters, started on first use: the lint and render tests run without them.
var shared struct {
	once  sync.Once
	world *harness.World
	err   error
}

func TestMain(m *testing.M) {
	// envtest logs through controller-runtime; the process logs tell more.
	ctrllog.SetLogger(logr.Discard())
	code := m.Run()
	if shared.world != nil {
		if err := shared.world.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: stop the clusters: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// world returns the shared clusters, starting them on first use. Binaries
// that are missing fail the test with the harness's advice (`make tools`).
func world(t *testing.T) *harness.World {
	t.Helper()
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), worldStartTimeout)
		defer cancel()
		start := time.Now()
		shared.world, shared.err = harness.StartWorld(ctx)
		if shared.err == nil {
			fmt.Fprintf(os.Stderr, "chart: clusters up in %s (%s)\n", time.Since(start).Round(time.Millisecond), shared.world)
		}
	})
	if shared.err != nil {
		t.Fatalf("start the clusters: %v", shared.err)
	}
	shared.world.LogOnFailure(t)
	return shared.world
}
