package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
)

// Connector is a running mcp-connector and the configuration it was started
// with.
type Connector struct {
	*Process
	Config ConnectorConfig
}

// ConnectorConfig is the command line of `mcp-connector run`.
type ConnectorConfig struct {
	AppKubeconfig          string
	ControlPlaneKubeconfig string
	ControlPlaneNamespace  string
	ClusterID              string
	// MetricsAddr and HealthAddr are loopback host:port pairs.
	MetricsAddr string
	HealthAddr  string
	// LeaderElect turns leader election on (a Lease in the app cluster's
	// "default" namespace), for tests that run several replicas.
	LeaderElect bool
	// ExtraArgs go after the flags above.
	ExtraArgs []string
}

// NewConnectorConfig configures a connector between the admin kubeconfigs of
// app and controlPlane, with free loopback ports for metrics and probes.
func NewConnectorConfig(app, controlPlane *Env, namespace, clusterID string) (ConnectorConfig, error) {
	metrics, err := FreeLoopbackAddr()
	if err != nil {
		return ConnectorConfig{}, err
	}
	health, err := FreeLoopbackAddr()
	if err != nil {
		return ConnectorConfig{}, err
	}
	return ConnectorConfig{
		AppKubeconfig:          app.Kubeconfig,
		ControlPlaneKubeconfig: controlPlane.Kubeconfig,
		ControlPlaneNamespace:  namespace,
		ClusterID:              clusterID,
		MetricsAddr:            metrics,
		HealthAddr:             health,
	}, nil
}

// Args returns the command line, starting with the "run" verb.
func (c ConnectorConfig) Args() []string {
	args := []string{"run",
		"--kubeconfig=" + c.AppKubeconfig,
		"--control-plane-kubeconfig=" + c.ControlPlaneKubeconfig,
		"--control-plane-namespace=" + c.ControlPlaneNamespace,
		"--cluster-id=" + c.ClusterID,
		"--leader-elect=" + strconv.FormatBool(c.LeaderElect),
		"--leader-election-namespace=default",
		"--metrics-bind-address=" + c.MetricsAddr,
		"--health-probe-bind-address=" + c.HealthAddr,
	}
	return append(args, c.ExtraArgs...)
}

// FreeLoopbackAddr returns 127.0.0.1:<port> of a port that was free a moment
// ago.
func FreeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

var connectorBuild struct {
	once sync.Once
	path string
	err  error
}

// BuildConnector builds ./cmd/mcp-connector, once per process, into the path
// MCP_CONNECTOR names (else <repo>/bin/mcp-connector), and returns that path.
// The Go build cache makes a rebuild of unchanged code quick. The binary is
// written next to its final name and renamed, so a connector that runs from
// the same path (another test package) is never overwritten in place.
func BuildConnector() (string, error) {
	connectorBuild.once.Do(func() {
		connectorBuild.path, connectorBuild.err = buildConnector()
	})
	return connectorBuild.path, connectorBuild.err
}

func buildConnector() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	out := os.Getenv("MCP_CONNECTOR")
	if out == "" {
		out = filepath.Join(root, "bin", "mcp-connector")
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	tmp := out + ".tmp" + strconv.Itoa(os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, "./cmd/mcp-connector")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("build ./cmd/mcp-connector: %w\n%s", err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("install mcp-connector: %w", err)
	}
	return out, nil
}

// StartConnector builds the connector (see BuildConnector) and starts it with
// args, logging to a new file mcp-connector[-N].log in dir. ctx bounds only
// the start, not the process's life: stop it with Stop or Kill.
func StartConnector(ctx context.Context, dir string, args ...string) (*Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path, err := BuildConnector()
	if err != nil {
		return nil, err
	}
	log, err := newLogPath(dir, "mcp-connector")
	if err != nil {
		return nil, err
	}
	return startProcess("mcp-connector", log, exec.Command(path, args...))
}

// newLogPath returns dir/name.log, or dir/name-N.log with the first N whose
// file does not exist yet.
func newLogPath(dir, name string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+".log")
	for n := 2; ; n++ {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			return path, nil
		}
		path = filepath.Join(dir, fmt.Sprintf("%s-%d.log", name, n))
	}
}
