//go:build unix && !linux

package harness

import "syscall"

// childSysProcAttr puts a child in its own process group. Only Linux has a
// parent-death signal: elsewhere children outlive a harness that is killed.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// reapEnvtestProcesses is a no-op outside Linux.
func reapEnvtestProcesses(...string) {}
