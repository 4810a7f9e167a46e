package harness

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The node's binaries, built by `make tools` from test/tools/kube like
// kube-apiserver, and the Debian packages it runs (containerd, runc,
// containernetworking-plugins).
var (
	binKubelet   = binary{env: "MCP_KUBELET", file: "kubelet-v1.34.10"}
	binScheduler = binary{env: "MCP_KUBE_SCHEDULER", file: "kube-scheduler-v1.34.10"}
	binProxy     = binary{env: "MCP_KUBE_PROXY", file: "kube-proxy-v1.34.10"}
)

const (
	runcPath   = "/usr/sbin/runc"
	cniBinDir  = "/usr/lib/cni"
	nodeName   = "node-1"
	cniNetwork = "mcp-node"
	cniBridge  = "mcp-node0"
	// DefaultNodeIP is the node's address, put on lo (kubelet refuses a
	// loopback node IP). The app cluster's kube-apiserver serves there too,
	// so that pods reach it.
	DefaultNodeIP = "10.200.0.1"
	// podCIDR is the range of the node's bridge network.
	podCIDR = "10.201.0.0/24"
	// nodeLockPath serialises nodes across network namespaces: kubelet's
	// cgroups (kubepods), /var/lib/cni and containerd's shim sockets
	// (/run/containerd/s) are machine-wide. Not in TMPDIR, which test/run
	// gives each package.
	nodeLockPath = "/tmp/mcp-connector-node.lock"
	// nodeControllers are the kube-controller-manager controllers pods need:
	// the default ServiceAccount and kube-root-ca.crt of each namespace,
	// Deployments and ReplicaSets, the node's taints, and what the plain
	// app cluster runs too.
	nodeControllers = "garbage-collector-controller,namespace-controller,clusterrole-aggregation-controller," +
		"serviceaccount-controller,root-ca-certificate-publisher-controller,deployment-controller," +
		"replicaset-controller,node-lifecycle-controller"
	nodeReadyTimeout = 2 * time.Minute
)

// Node is a real node of an app cluster: containerd (with runc and the CNI
// plugins), kubelet, kube-scheduler and kube-proxy on this machine, plus the
// kube-controller-manager controllers that pods need. One runs at a time per
// machine (a lock). Stop removes the host state it leaves (see cleanHost).
type Node struct {
	Name string
	IP   string
	// Dir holds the node's configuration, state and logs (under the
	// cluster's directory).
	Dir string

	env        *Env
	lock       *machineLock
	host       hostState
	containerd *Process
	procs      []*Process // kube-scheduler, kube-proxy, kubelet
}

// NodePrerequisites says what this machine lacks to run a node: root, the
// Debian packages, the pinned binaries. Nil means none.
func NodePrerequisites() error {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (kubelet, containerd and kube-proxy need it)")
	}
	for _, p := range []string{"containerd", "ctr"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p+" (apt-get install containerd)")
		}
	}
	if _, err := os.Stat(runcPath); err != nil {
		missing = append(missing, runcPath+" (apt-get install runc)")
	}
	if _, err := os.Stat(filepath.Join(cniBinDir, "bridge")); err != nil {
		missing = append(missing, cniBinDir+"/bridge (apt-get install containernetworking-plugins)")
	}
	for _, b := range []binary{binKubelet, binScheduler, binProxy} {
		if _, err := b.path(); err != nil {
			missing = append(missing, err.Error())
		}
	}
	if len(missing) > 0 {
		return errors.New("a node needs: " + strings.Join(missing, "; "))
	}
	return nil
}

// NewNode readies this machine for a node at ip: it takes the machine-wide
// node lock and puts ip on lo, where the app cluster's kube-apiserver can then
// serve (EnvOptions.NodeIP). Start starts the node; Stop undoes both.
func NewNode(ctx context.Context, ip string) (*Node, error) {
	if err := NodePrerequisites(); err != nil {
		return nil, err
	}
	lock, err := lockMachineAt(ctx, nodeLockPath, func(path string) {
		fmt.Fprintf(os.Stderr, "harness: waiting for %s (another node runs on this machine)\n", path)
	})
	if err != nil {
		return nil, err
	}
	n := &Node{Name: nodeName, IP: ip, lock: lock}
	if n.host, err = prepareHost(ip); err != nil {
		return nil, errors.Join(err, n.Stop())
	}
	return n, nil
}

// Start starts the node in env, which must have been started with
// EnvOptions.NodeIP = n.IP and without ControllerManager (the node starts
// kube-controller-manager with the controllers pods need). It returns once
// the node is Ready. The pause image (built here) is imported; other images
// are imported with ImportImage.
func (n *Node) Start(ctx context.Context, env *Env) error {
	n.env, n.Dir = env, filepath.Join(env.Dir, "node")
	if err := os.MkdirAll(n.Dir, 0o755); err != nil {
		return err
	}
	if err := n.startContainerd(ctx); err != nil {
		return fmt.Errorf("start node: %w", err)
	}
	if err := n.importPause(ctx); err != nil {
		return fmt.Errorf("start node: %w", err)
	}
	if err := env.startControllerManager(nodeControllers,
		"--root-ca-file="+filepath.Join(env.Dir, "apiserver", "ca.crt")); err != nil {
		return fmt.Errorf("start node: %w", err)
	}
	for _, start := range []func() error{n.startScheduler, n.startProxy, n.startKubelet} {
		if err := start(); err != nil {
			return fmt.Errorf("start node: %w", err)
		}
	}
	return n.waitReady(ctx)
}

// waitReady waits for the Node object to be Ready and untainted.
func (n *Node) waitReady(ctx context.Context) error {
	err := Poll(ctx, nodeReadyTimeout, func() error {
		for _, p := range append([]*Process{n.containerd}, n.procs...) {
			if err := p.errIfExited(); err != nil {
				return err
			}
		}
		var node corev1.Node
		if err := n.env.Client.Get(ctx, client.ObjectKey{Name: n.Name}, &node); err != nil {
			return err
		}
		if ready := nodeCondition(&node, corev1.NodeReady); ready == nil || ready.Status != corev1.ConditionTrue {
			return fmt.Errorf("not Ready: %+v", ready)
		}
		if len(node.Spec.Taints) > 0 {
			return fmt.Errorf("taints %v", node.Spec.Taints)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("node %s not Ready: %w", n.Name, err)
	}
	return nil
}

func nodeCondition(node *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == t {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

// LogPaths lists the logs of the node's processes.
func (n *Node) LogPaths() []string {
	var paths []string
	for _, p := range append([]*Process{n.containerd}, n.procs...) {
		if p != nil {
			paths = append(paths, p.LogPath())
		}
	}
	return paths
}

// LogOnFailure makes t log the tail of the node's logs if t fails.
func (n *Node) LogOnFailure(t testing.TB) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range n.LogPaths() {
				t.Logf("--- last lines of %s ---\n%s", p, tailFile(p, logTailLines))
			}
		}
	})
}

// Stop stops the node's processes, kills every container, and removes the
// host state the node created. The Env stays up.
func (n *Node) Stop() error {
	var errs []error
	for i := len(n.procs) - 1; i >= 0; i-- {
		errs = append(errs, n.procs[i].Stop())
	}
	n.procs = nil
	if n.containerd != nil {
		errs = append(errs, n.killContainers())
		errs = append(errs, n.containerd.Stop())
		n.containerd = nil
	}
	if n.Dir != "" {
		errs = append(errs, unmountUnder(n.Dir))
	}
	errs = append(errs, n.host.clean())
	n.lock.unlock()
	return errors.Join(errs...)
}

// process starts one of the node's processes, logged into the node's dir.
func (n *Node) process(name string, path string, args ...string) (*Process, error) {
	return startProcess(name, filepath.Join(n.Dir, name+".log"), exec.Command(path, args...))
}

func (n *Node) startScheduler() error {
	path, err := binScheduler.path()
	if err != nil {
		return err
	}
	p, err := n.process("kube-scheduler", path, "--kubeconfig="+n.env.Kubeconfig,
		"--leader-elect=false", "--secure-port=0")
	if err != nil {
		return err
	}
	n.procs = append(n.procs, p)
	return nil
}

func (n *Node) startProxy() error {
	path, err := binProxy.path()
	if err != nil {
		return err
	}
	p, err := n.process("kube-proxy", path, "--kubeconfig="+n.env.Kubeconfig,
		"--proxy-mode=iptables", "--hostname-override="+n.Name, "--cluster-cidr="+podCIDR,
		"--conntrack-max-per-core=0", "--metrics-bind-address=127.0.0.1:10249", "--healthz-bind-address=127.0.0.1:10256")
	if err != nil {
		return err
	}
	n.procs = append(n.procs, p)
	return nil
}

// KubeconfigForPods writes a kubeconfig of env (the control plane) that pods
// on the node can use: env's kube-apiserver listens on loopback, which a pod
// cannot reach, so a proxy on the node IP forwards to it and the kubeconfig
// names the proxy, checking env's certificate for localhost. The proxy stops
// when t ends.
func (n *Node) KubeconfigForPods(t testing.TB, env *Env) string {
	t.Helper()
	u, err := url.Parse(env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	p, err := StartFaultProxyOn(n.IP, u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := WriteProxiedKubeconfig(env.Kubeconfig, path, p.Addr()); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg.Clusters {
		c.TLSServerName = "localhost"
	}
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}
