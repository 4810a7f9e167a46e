package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// commitInfo is what the image records of the commit it is built from.
type commitInfo struct {
	Revision string    // the commit's hash
	Dirty    bool      // the work tree has changes to tracked files
	Time     time.Time // the commit's time: the image's created date, for reproducibility
}

// binaryCommit is the commit the binary reports: the hash, "-dirty" when the
// tree had changes.
func (c commitInfo) binaryCommit() string {
	if c.Dirty {
		return c.Revision + "-dirty"
	}
	return c.Revision
}

func gitCommit(ctx context.Context, dir string) (commitInfo, error) {
	out, err := gitOutput(ctx, dir, "log", "-1", "--format=%H %ct")
	if err != nil {
		return commitInfo{}, err
	}
	rev, ts, ok := strings.Cut(strings.TrimSpace(out), " ")
	sec, perr := strconv.ParseInt(ts, 10, 64)
	if !ok || perr != nil {
		return commitInfo{}, fmt.Errorf("git log in %s: unexpected output %q", dir, out)
	}
	status, err := gitOutput(ctx, dir, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return commitInfo{}, err
	}
	return commitInfo{Revision: rev, Dirty: strings.TrimSpace(status) != "", Time: time.Unix(sec, 0).UTC()}, nil
}

func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %w: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// chartAppVersion reads appVersion from charts/mcp-connector/Chart.yaml: the
// chart's default image tag, and so the image's.
func chartAppVersion(root string) (string, error) {
	path := filepath.Join(root, "charts", "mcp-connector", "Chart.yaml")
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read the chart's appVersion: %w", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "appVersion:"); ok {
			return strings.Trim(strings.TrimSpace(v), `"'`), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return "", fmt.Errorf("%s has no appVersion", path)
}

// buildBinary compiles a static, reproducible mcp-connector for p into dst:
// only run and version (the runonly tag: no Helm SDK, no kubectl libraries in
// the running connector's memory), no cgo, paths trimmed, no build id, no VCS
// stamp (the commit is passed with -X instead), the baseline instruction set
// of each architecture.
func buildBinary(ctx context.Context, root string, p platform, version string, c commitInfo, dst string) error {
	ldflags := fmt.Sprintf("-s -w -buildid= -X main.version=%s -X main.commit=%s", version, c.binaryCommit())
	cmd := exec.CommandContext(ctx, "go", "build", "-tags=runonly", "-trimpath", "-buildvcs=false", "-ldflags", ldflags,
		"-o", dst, "./cmd/mcp-connector")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch,
		"GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=-mod=readonly", "GOWORK=off")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/mcp-connector for %s: %w", p, err)
	}
	return nil
}
