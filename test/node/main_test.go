package node

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

// The clusters and the node the tests share, started by TestMain.
var (
	world   *harness.World
	theNode *harness.Node
	// skipReason is set when this machine cannot run a node (off CI).
	skipReason string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrllog.SetLogger(logr.Discard())
	if err := harness.NodePrerequisites(); err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "FAIL: node: %v\n", err)
			return 1
		}
		skipReason = err.Error()
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), harness.WorldStartTimeout)
	defer cancel()
	var err error
	if theNode, err = harness.NewNode(ctx, harness.DefaultNodeIP); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: node: %v\n", err)
		return 1
	}
	start := time.Now()
	world, err = harness.StartWorldWithOptions(ctx, harness.WorldOptions{AppNodeIP: theNode.IP})
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: node: start the clusters: %v\n", err)
		_ = theNode.Stop()
		return 1
	}
	fmt.Fprintf(os.Stderr, "node: clusters up in %s (%s)\n", time.Since(start).Round(time.Millisecond), world)
	nodeStart := time.Now()
	if err := theNode.Start(ctx, world.App); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: node: %v\n", err)
		for _, p := range theNode.LogPaths() {
			fmt.Fprintf(os.Stderr, "--- %s ---\n%s\n", p, tailOf(p))
		}
		_ = theNode.Stop()
		_ = world.Stop()
		return 1
	}
	fmt.Fprintf(os.Stderr, "node: node %s Ready in %s\n", theNode.Name, time.Since(nodeStart).Round(time.Millisecond))
	code := m.Run()
	stopStart := time.Now()
	if err := theNode.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: node: stop the node: %v\n", err)
		code = 1
	}
	nodeStopped := time.Since(stopStart)
	if err := world.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: node: stop the clusters: %v\n", err)
		code = 1
	}
	fmt.Fprintf(os.Stderr, "node: teardown %s (the node %s)\n", time.Since(stopStart).Round(time.Millisecond), nodeStopped.Round(time.Millisecond))
	return code
}

// setup returns the shared clusters and node, or skips the test with the
// reason this machine cannot run a node.
func setup(t *testing.T) (*harness.World, *harness.Node) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	world.LogOnFailure(t)
	theNode.LogOnFailure(t)
	return world, theNode
}

// tailOf returns the last lines of a log file.
func tailOf(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
