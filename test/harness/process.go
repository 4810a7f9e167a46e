package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// stopTimeout is how long Stop waits after SIGTERM before it sends SIGKILL.
const stopTimeout = 30 * time.Second

// Process is a child process started by the harness, with its standard output
// and error in a log file. It is killed if the process that started it dies.
type Process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	exitErr error // set before done is closed
}

// startProcess starts cmd with stdout and stderr appended to logPath, in its
// own process group (a Ctrl-C on the terminal reaches only the harness, which
// then stops its children in order) and with a parent-death signal.
func startProcess(name, logPath string, cmd *exec.Cmd) (*Process, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log of %s: %w", name, err)
	}
	_, _ = fmt.Fprintf(log, "### %s: %s\n", time.Now().Format(time.RFC3339), strings.Join(cmd.Args, " "))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = childSysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.exitErr = cmd.Wait()
		_ = log.Close()
		close(p.done)
	}()
	return p, nil
}

// Name is the short name the harness gave the process (e.g. "crossplane").
func (p *Process) Name() string { return p.name }

// Pid is the operating-system process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// LogPath is the file that holds the process's stdout and stderr.
func (p *Process) LogPath() string { return p.logPath }

// Logs returns the whole log, or a note saying why it cannot be read.
func (p *Process) Logs() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log of %s: %v)", p.name, err)
	}
	return string(b)
}

// Tail returns the last n lines of the log.
func (p *Process) Tail(n int) string { return tail(p.Logs(), n) }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.exitErr
	default:
		return false, nil
	}
}

// Stop sends SIGTERM and waits for the process to exit; after stopTimeout it
// sends SIGKILL and returns an error. Stopping an exited process is a no-op.
func (p *Process) Stop() error {
	if exited, _ := p.Exited(); exited {
		return nil
	}
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
		_ = p.Kill()
		return fmt.Errorf("%s did not stop within %s of SIGTERM; killed it", p.name, stopTimeout)
	}
}

// Kill sends SIGKILL and waits for the process to exit.
func (p *Process) Kill() error {
	p.signal(syscall.SIGKILL)
	<-p.done
	return nil
}

// signal signals the process's whole group (the process and anything it
// started), which is the process's own pid.
func (p *Process) signal(sig syscall.Signal) {
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = p.cmd.Process.Signal(sig)
	}
}

// errIfExited returns an error with the tail of the log if the process has
// already exited: for start-up checks that would otherwise time out blindly.
func (p *Process) errIfExited() error {
	exited, err := p.Exited()
	if !exited {
		return nil
	}
	return fmt.Errorf("%s exited (%v); last lines of %s:\n%s", p.name, err, p.logPath, p.Tail(30))
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := bytes.Split(bytes.TrimRight([]byte(s), "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
