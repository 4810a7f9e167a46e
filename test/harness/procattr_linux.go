package harness

import "syscall"

// childSysProcAttr puts a child in its own process group and has the kernel
// kill it when the thread that started it dies (the Go runtime does not end
// threads that started processes, so in practice: when this process dies).
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
