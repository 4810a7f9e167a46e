package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	gosync "sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// waitTimeout bounds every wait for the connector, Crossplane or the CLI.
const waitTimeout = 3 * time.Minute

// command is a run of the mcp-connector binary.
type command struct {
	args []string
	cmd  *exec.Cmd
	mu   gosync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

// Write collects stdout and stderr together, as a user sees them.
func (c *command) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

// Output is what the command printed so far.
func (c *command) Output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

// startCLI starts the built binary with args against the app cluster and
// returns at once; Wait collects it. It is killed if the test ends first.
func startCLI(t *testing.T, args ...string) *command {
	t.Helper()
	path, err := harness.BuildConnector()
	if err != nil {
		t.Fatal(err)
	}
	c := &command{args: args, done: make(chan struct{})}
	c.cmd = exec.Command(path, append(args, "--kubeconfig="+world.App.Kubeconfig)...)
	c.cmd.Stdout, c.cmd.Stderr = c, c
	// No Helm configuration of whoever runs the tests.
	home := t.TempDir()
	c.cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

// Wait waits for the command to end and fails the test if it failed.
func (c *command) Wait(t *testing.T) string {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(waitTimeout):
		t.Fatalf("mcp-connector %s did not end within %s; output:\n%s", strings.Join(c.args, " "), waitTimeout, c.Output())
	}
	if c.err != nil {
		t.Fatalf("mcp-connector %s: %v; output:\n%s", strings.Join(c.args, " "), c.err, c.Output())
	}
	t.Logf("mcp-connector %s:\n%s", strings.Join(c.args, " "), c.Output())
	return c.Output()
}

// Fail waits for the command to end and fails the test unless it failed
// with an output containing want.
func (c *command) Fail(t *testing.T, want string) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(waitTimeout):
		t.Fatalf("mcp-connector %s did not end within %s", strings.Join(c.args, " "), waitTimeout)
	}
	if c.err == nil || !strings.Contains(c.Output(), want) {
		t.Errorf("mcp-connector %s: %v, output:\n%s\nwant it to fail saying %q", strings.Join(c.args, " "), c.err, c.Output(), want)
	}
}

// runCLI runs the binary to its end.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	return startCLI(t, args...).Wait(t)
}

// checkOutput fails the test for each wanted line fragment missing in out.
func checkOutput(t *testing.T, out string, want ...string) {
	t.Helper()
	harness.CheckOutput(t, out, want...)
}

// runDeployment runs the release's Deployment as the kubelet would run its
// one pod, as a local process: the Deployment's arguments with Secret
// volumes written to local directories, container ports bound to free
// loopback addresses, the downward API's POD_NAMESPACE, and a token of the
// Deployment's ServiceAccount as its in-cluster credentials (the chart's
// RBAC, nothing more). It waits for the Deployment to exist first.
func runDeployment(t *testing.T, namespace, name string) *harness.Process {
	t.Helper()
	return runPod(t, namespace, name).Process
}

// runPod is runDeployment returning the whole local pod (its addresses).
func runPod(t *testing.T, namespace, name string) *harness.LocalPod {
	t.Helper()
	c := world.App.Client
	d := &appsv1.Deployment{}
	harness.Eventually(t, waitTimeout, func() error {
		return c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, d)
	})
	kubeconfig := harness.ServiceAccountKubeconfig(t, world.App, namespace, d.Spec.Template.Spec.ServiceAccountName)
	return harness.StartPod(t, c, d, d.Name+"-0", kubeconfig)
}

// waitScaledToZero waits until uninstall scaled the Deployment to zero: the
// moment the kubelet would stop the pod.
func waitScaledToZero(t *testing.T, namespace, name string) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		d := &appsv1.Deployment{}
		if err := world.App.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, d); err != nil {
			return err
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 0 {
			return fmt.Errorf("deployment %s/%s not scaled to 0 yet", namespace, name)
		}
		return nil
	})
}
