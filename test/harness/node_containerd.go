package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"
)

// PauseImage is the sandbox image of the node's containerd, built here
// (nodepause) and imported at start: nothing is pulled from a registry.
const PauseImage = "registry.k8s.io/pause:3.6"

// containerdConfig keeps all of containerd's state under the node's dir.
// restrict_oom_score_adj: this machine has no CAP_SYS_RESOURCE, so runc could
// not lower the pause container's oom_score_adj.
var containerdConfig = template.Must(template.New("containerd").Parse(`version = 2
root = "{{.Dir}}/root"
state = "{{.Dir}}/state"
[grpc]
  address = "{{.Socket}}"
[ttrpc]
  address = "{{.Socket}}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{{.Dir}}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{{.Pause}}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "{{.Runc}}"
        Root = "{{.Dir}}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{{.CNIBin}}"
    conf_dir = "{{.Dir}}/net.d"
`))

// cniConfig is a bridge network on podCIDR, its IP leases under the node's dir.
var cniConfig = template.Must(template.New("cni").Parse(`{
  "cniVersion": "0.4.0",
  "name": "{{.Network}}",
  "plugins": [
    {"type": "bridge", "bridge": "{{.Bridge}}", "isGateway": true, "ipMasq": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "{{.PodCIDR}}"}]], "routes": [{"dst": "0.0.0.0/0"}],
              "dataDir": "{{.Dir}}/ipam"}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
`))

func (n *Node) containerdDir() string    { return filepath.Join(n.Dir, "containerd") }
func (n *Node) containerdSocket() string { return filepath.Join(n.containerdDir(), "containerd.sock") }

func (n *Node) startContainerd(ctx context.Context) error {
	dir := n.containerdDir()
	data := map[string]string{"Dir": dir, "Socket": n.containerdSocket(), "Pause": PauseImage, "Runc": runcPath,
		"CNIBin": cniBinDir, "Network": cniNetwork, "Bridge": cniBridge, "PodCIDR": podCIDR}
	if err := writeTemplate(filepath.Join(dir, "config.toml"), containerdConfig, data); err != nil {
		return err
	}
	if err := writeTemplate(filepath.Join(dir, "net.d", "10-"+cniNetwork+".conflist"), cniConfig, data); err != nil {
		return err
	}
	p, err := n.process("containerd", "containerd", "--config="+filepath.Join(dir, "config.toml"))
	if err != nil {
		return err
	}
	n.containerd = p
	return Poll(ctx, 30*time.Second, func() error {
		if err := p.errIfExited(); err != nil {
			return err
		}
		_, err := n.ctr(ctx, "version")
		return err
	})
}

func writeTemplate(path string, t *template.Template, data any) error {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// ctr runs ctr against the node's containerd, in the CRI's namespace.
func (n *Node) ctr(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "ctr", append([]string{"--address=" + n.containerdSocket(), "--namespace=k8s.io"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// ImportImage imports an image archive (a docker archive, or the tar of an
// OCI layout) into the node's containerd, for pods with imagePullPolicy Never.
func (n *Node) ImportImage(ctx context.Context, archive string) error {
	_, err := n.ctr(ctx, "images", "import", "--platform=linux/amd64", archive)
	return err
}

// killContainers kills and deletes every task (pod sandboxes and containers),
// so that their shims exit, and stops the sandboxes' network namespaces.
func (n *Node) killContainers() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := n.ctr(ctx, "tasks", "list", "--quiet")
	if err != nil {
		return err
	}
	var errs []string
	for _, id := range strings.Fields(out) {
		if err := n.deleteTask(ctx, id); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("kill the node's containers: %s", strings.Join(errs, "; "))
	}
	return nil
}

// deleteTask force-deletes a task until containerd no longer lists it. A
// pod's containers die with its sandbox, so "not found" is done; and a
// delete can fail while the task's shim exits under it ("ttrpc: closed"),
// so a failed delete is retried until the task is gone from the list.
func (n *Node) deleteTask(ctx context.Context, id string) error {
	return Poll(ctx, 15*time.Second, func() error {
		out, err := n.ctr(ctx, "tasks", "delete", "--force", id)
		if err == nil || strings.Contains(out, "not found") {
			return nil
		}
		if list, lerr := n.ctr(ctx, "tasks", "list", "--quiet"); lerr == nil && !slices.Contains(strings.Fields(list), id) {
			return nil
		}
		return err
	})
}
