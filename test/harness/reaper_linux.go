package harness

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// envtest starts etcd and kube-apiserver without a parent-death signal, so a
// test binary killed by `go test -timeout` (or by anything else) would leave
// them running. The reaper is a tiny shell that reads, from a pipe, the
// current list of those pids; when this process dies the pipe closes and the
// shell kills whatever pids it was last told about.
const reaperScript = `pids=""
while read -r line; do pids=$line; done
[ -n "$pids" ] && kill -9 $pids 2>/dev/null
exit 0`

var reaper struct {
	sync.Mutex
	in io.WriteCloser
}

// reapEnvtestProcesses tells the reaper which of this process's children run
// one of the given binaries. Call it after every start or stop of envtest
// processes. It is best effort: an error leaves the previous list in place.
func reapEnvtestProcesses(binaries ...string) {
	reaper.Lock()
	defer reaper.Unlock()
	if reaper.in == nil {
		in, err := startReaper()
		if err != nil {
			return
		}
		reaper.in = in
	}
	pids := childrenRunning(binaries)
	_, _ = fmt.Fprintln(reaper.in, strings.Join(pids, " "))
}

func startReaper() (io.WriteCloser, error) {
	cmd := exec.Command("/bin/sh", "-c", reaperScript)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // not Pdeathsig: it must outlive us
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait() }()
	return in, nil
}

// childrenRunning lists the pids of this process's children whose executable
// is one of binaries.
func childrenRunning(binaries []string) []string {
	want := map[string]bool{}
	for _, b := range binaries {
		if abs, err := filepath.Abs(b); err == nil {
			if real, err := filepath.EvalSymlinks(abs); err == nil {
				want[real] = true
			}
		}
	}
	entries, _ := os.ReadDir("/proc")
	var pids []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if parentPid(e.Name()) == os.Getpid() && want[executable(e.Name())] {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// parentPid reads the fourth field of /proc/<pid>/stat (after "(comm)", which
// may itself hold spaces).
func parentPid(pid string) int {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return -1
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 2 {
		return -1
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

func executable(pid string) string {
	exe, err := os.Readlink(filepath.Join("/proc", pid, "exe"))
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(exe, " (deleted)")
}
