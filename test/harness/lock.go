package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// controlPlaneLockFile is the machine-wide lock that serialises control
// planes: provider-nop binds :8080 and :9443 and cannot be told otherwise.
const controlPlaneLockFile = "mcp-connector-control-plane.lock"

// machineLock is an exclusive flock, released by unlock or when the process
// dies (the kernel drops it with the file descriptor).
type machineLock struct{ f *os.File }

// lockMachine takes the lock, polling until ctx is done. waiting is called
// once if the lock is held by someone else.
func lockMachine(ctx context.Context, name string, waiting func(path string)) (*machineLock, error) {
	return lockMachineAt(ctx, filepath.Join(os.TempDir(), name), waiting)
}

// lockMachineAt is lockMachine with the lock file's path.
func lockMachineAt(ctx context.Context, path string, waiting func(path string)) (*machineLock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	for announced := false; ; announced = true {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &machineLock{f: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !announced && waiting != nil {
			waiting(path)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("wait for lock %s (held by another test process): %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (l *machineLock) unlock() {
	if l != nil && l.f != nil {
		_ = l.f.Close()
		l.f = nil
	}
}
