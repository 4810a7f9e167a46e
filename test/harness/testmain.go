package harness

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// WorldStartTimeout bounds the start of a World by RunWithWorld. Each
// start-up step has a deadline of its own (a minute or two); this one is long
// because it includes waiting for the machine's control-plane lock, which
// another test package or the demo may hold while it runs.
const WorldStartTimeout = 15 * time.Minute

// RunWithWorld is the body of a TestMain whose tests share one World: it
// discards controller-runtime's logs (envtest logs through it; the process
// logs tell more), starts the World, hands it to use, runs the tests and
// stops the World. It returns the exit code for os.Exit: 1 if the World
// does not start (binaries missing: run `make tools`) or stop, else m.Run's.
// name (the package) prefixes the start-up time printed to stderr. The world runs Crossplane v2 when
// MCP_E2E_CROSSPLANE=v2 (CrossplaneLineEnv), else v1.20.
func RunWithWorld(m *testing.M, name string, use func(*World)) int {
	return RunWithWorldOptions(m, name, WorldOptions{CrossplaneV2: CrossplaneV2FromEnv()}, use)
}

// RunWithWorldOptions is RunWithWorld with the World's options.
func RunWithWorldOptions(m *testing.M, name string, opts WorldOptions, use func(*World)) int {
	ctrllog.SetLogger(logr.Discard())
	ctx, cancel := context.WithTimeout(context.Background(), WorldStartTimeout)
	defer cancel()
	start := time.Now()
	w, err := StartWorldWithOptions(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %s: start the clusters: %v\n", name, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "%s: clusters up in %s (%s)\n", name, time.Since(start).Round(time.Millisecond), w)
	use(w)
	code := m.Run()
	if err := w.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %s: stop the clusters: %v\n", name, err)
		return 1
	}
	return code
}
