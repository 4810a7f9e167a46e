package harness

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// hostState is what a node changes outside its own directory, and how to
// undo it: the node IP on lo, net.ipv4.ip_forward (the bridge plugin sets it),
// the bridge, kubelet's and kube-proxy's iptables chains, the kubepods
// cgroups, and the machine-wide directories that kubelet and the CNI plugins
// create whatever they are told (/var/lib/cni, /var/lib/kubelet).
type hostState struct {
	ip          string
	addedIP     bool
	ipForward   []byte
	createdDirs []string
	createdRun  bool
}

// mntDetach is Linux's MNT_DETACH (a lazy unmount).
const mntDetach = 2

const ipForwardPath = "/proc/sys/net/ipv4/ip_forward"

// machineDirs are created by containerd's CNI library and by kubelet
// regardless of their configuration; a node removes those it created.
var machineDirs = []string{"/var/lib/cni", "/var/lib/kubelet", "/opt/containerd"}

// The shims' socket directory, which no configuration moves; removed once
// empty if the node created it.
const shimSocketDir = "/run/containerd/s"

func prepareHost(ip string) (hostState, error) {
	h := hostState{ip: ip}
	h.ipForward, _ = os.ReadFile(ipForwardPath)
	for _, d := range machineDirs {
		if _, err := os.Stat(d); errors.Is(err, os.ErrNotExist) {
			h.createdDirs = append(h.createdDirs, d)
		}
	}
	if _, err := os.Stat(filepath.Dir(shimSocketDir)); errors.Is(err, os.ErrNotExist) {
		h.createdRun = true
	}
	if err := mountCgroups(); err != nil {
		return h, err
	}
	out, err := exec.Command("ip", "-o", "addr", "show", "dev", "lo").CombinedOutput()
	if err != nil {
		return h, fmt.Errorf("ip addr show dev lo: %w: %s", err, out)
	}
	if !strings.Contains(string(out), " "+ip+"/") {
		if out, err := exec.Command("ip", "addr", "add", ip+"/32", "dev", "lo").CombinedOutput(); err != nil {
			return h, fmt.Errorf("add the node IP to lo: %w: %s", err, out)
		}
		h.addedIP = true
	}
	return h, nil
}

// clean undoes prepareHost and removes what the node's processes left on
// the host. Call it once every container is gone.
func (h hostState) clean() error {
	var errs []error
	errs = append(errs, removeIptablesChains("iptables"), removeIptablesChains("ip6tables"), removeKubepodsCgroups())
	if out, err := exec.Command("ip", "link", "del", cniBridge).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find device") {
		errs = append(errs, fmt.Errorf("delete bridge %s: %w: %s", cniBridge, err, out))
	}
	if h.addedIP {
		if out, err := exec.Command("ip", "addr", "del", h.ip+"/32", "dev", "lo").CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("remove the node IP from lo: %w: %s", err, out))
		}
	}
	if len(h.ipForward) > 0 {
		errs = append(errs, os.WriteFile(ipForwardPath, h.ipForward, 0o644))
	}
	for _, d := range h.createdDirs {
		errs = append(errs, unmountUnder(d), os.RemoveAll(d))
	}
	// A CNI cache that was there before keeps entries of other networks.
	leftovers, _ := filepath.Glob("/var/lib/cni/*/*/" + cniNetwork + "-*")
	for _, f := range leftovers {
		errs = append(errs, os.Remove(f))
	}
	if h.createdRun {
		_ = os.Remove(shimSocketDir) // not if a shim still runs: then it is not empty
		_ = os.Remove(filepath.Dir(shimSocketDir))
	}
	return errors.Join(errs...)
}

// mountCgroups mounts, when this process sees none, the cgroup hierarchies
// that init sees at /sys/fs/cgroup: `ip netns exec` (test/run, e2e.sh) mounts
// a fresh /sys without them, and kubelet needs them. The mounts live in the
// mount namespace that `ip netns exec` made for this process, and go with it.
func mountCgroups() error {
	own, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	if strings.Contains(string(own), " /sys/fs/cgroup ") {
		return nil
	}
	initMounts, err := os.ReadFile("/proc/1/mountinfo")
	if err != nil {
		return fmt.Errorf("read init's mounts: %w", err)
	}
	for _, line := range strings.Split(string(initMounts), "\n") {
		point, fstype, source, opts, ok := parseMountinfo(line)
		if !ok || (point != "/sys/fs/cgroup" && !strings.HasPrefix(point, "/sys/fs/cgroup/")) {
			continue
		}
		if err := os.MkdirAll(point, 0o755); err != nil {
			return err
		}
		if err := syscall.Mount(source, point, fstype, 0, opts); err != nil {
			return fmt.Errorf("mount %s %s on %s: %w", fstype, opts, point, err)
		}
	}
	return nil
}

// parseMountinfo returns a /proc/<pid>/mountinfo line's mount point, file
// system type, source and super options.
func parseMountinfo(line string) (point, fstype, source, opts string, ok bool) {
	before, after, found := strings.Cut(line, " - ")
	f, g := strings.Fields(before), strings.Fields(after)
	if !found || len(f) < 5 || len(g) < 3 {
		return "", "", "", "", false
	}
	return f[4], g[0], g[1], g[2], true
}

// removeIptablesChains rewrites every table without the chains and rules of
// kubelet, kube-proxy and the CNI plugins (KUBE-*, CNI-*).
func removeIptablesChains(iptables string) error {
	saved, err := exec.Command(iptables + "-save").Output()
	if err != nil {
		return fmt.Errorf("%s-save: %w", iptables, err)
	}
	cmd := exec.Command(iptables + "-restore")
	cmd.Stdin = bytes.NewReader(withoutNodeChains(saved))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s-restore: %w: %s", iptables, err, out)
	}
	return nil
}

// withoutNodeChains drops, from iptables-save output, every line that
// declares or uses a chain of kubelet, kube-proxy or the CNI plugins.
func withoutNodeChains(saved []byte) []byte {
	var kept bytes.Buffer
	s := bufio.NewScanner(bytes.NewReader(saved))
	for s.Scan() {
		if line := s.Text(); !strings.Contains(line, "KUBE-") && !strings.Contains(line, "CNI-") {
			kept.WriteString(line + "\n")
		}
	}
	return kept.Bytes()
}

// removeKubepodsCgroups removes kubelet's kubepods hierarchy from every cgroup
// controller, the deepest first.
func removeKubepodsCgroups() error {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	if unified, err := os.Stat("/sys/fs/cgroup/kubepods"); err == nil && unified.IsDir() {
		roots = append(roots, "/sys/fs/cgroup/kubepods")
	}
	var errs []error
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
		for _, d := range dirs {
			if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

// unmountUnder detaches every mount at or below dir, the deepest first
// (pod volumes, sandbox network namespaces, overlay root filesystems).
func unmountUnder(dir string) error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		if p, _, _, _, ok := parseMountinfo(line); ok && (p == dir || strings.HasPrefix(p, dir+"/")) {
			points = append(points, p)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, mntDetach); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}
