package harness

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// RunCLI runs the connector's binary (BuildConnector) with args against the
// cluster of kubeconfig, to its end, and returns what it printed (stdout
// and stderr together, as a user sees them); a failed run is an error
// carrying that output.
func RunCLI(kubeconfig string, args ...string) (string, error) {
	path, err := BuildConnector()
	if err != nil {
		return "", err
	}
	out, err := exec.Command(path, append(args, "--kubeconfig="+kubeconfig)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("mcp-connector %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// CheckOutput fails the test for each wanted fragment missing in out.
func CheckOutput(t testing.TB, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}
