package harness

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RunCLI runs the connector's binary (BuildConnector) with args against the
// cluster of kubeconfig, to its end, and returns what it printed (stdout
// and stderr together, as a user sees them); a failed run is an error
// carrying that output. Helm's configuration, cache and data live in a
// temporary directory of the test, not in the home of whoever runs it. It
// may be called from a goroutine of the test (an install that waits for a
// connector the test then starts).
func RunCLI(t testing.TB, kubeconfig string, args ...string) (string, error) {
	path, err := BuildConnector()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(path, append(args, "--kubeconfig="+kubeconfig)...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := cmd.CombinedOutput()
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
