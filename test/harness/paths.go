package harness

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// modulePath is the project's Go module; RepoRoot looks for its go.mod.
const modulePath = "github.com/mcp-connector/mcp-connector"

// A binary the harness runs: the environment variable that names its path and
// the file name (name-version) that `make tools` builds into <repo>/bin.
type binary struct {
	env  string
	file string
}

// The pinned binaries. Keep the versions in step with the Makefile.
var (
	binAPIServer         = binary{env: "MCP_KUBE_APISERVER", file: "kube-apiserver-v1.34.10"}
	binControllerManager = binary{env: "MCP_KUBE_CONTROLLER_MANAGER", file: "kube-controller-manager-v1.34.10"}
	binEtcd              = binary{env: "MCP_ETCD", file: "etcd-v3.6.4"}
	binCrossplane        = binary{env: "MCP_CROSSPLANE", file: "crossplane-v1.20.13"}
	binProviderNop       = binary{env: "MCP_PROVIDER_NOP", file: "provider-nop-v0.5.0"}
)

// RepoRoot returns the root of the mcp-connector repository: the nearest
// directory, from the working directory up, whose go.mod declares the
// project's module.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("get working directory: %w", err)
	}
	for {
		if isProjectRoot(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module %s above the working directory", modulePath)
		}
		dir = parent
	}
}

func isProjectRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) == 2 && fields[0] == "module" {
			return fields[1] == modulePath
		}
	}
	return false
}

// path resolves the binary: the file its environment variable names, else
// <repo>/bin/<name>-<version>. The error says how to get it.
func (b binary) path() (string, error) {
	if p := os.Getenv(b.env); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w (run `make tools` to build the pinned binaries)", b.env, p, err)
		}
		return p, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("find %s: %w (set %s, or run `make tools`)", b.file, err, b.env)
	}
	p := filepath.Join(root, "bin", b.file)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s not found at %s: run `make tools` to build the pinned binaries", b.file, p)
	}
	return p, nil
}

var moduleDirs sync.Map // builder module + "\x00" + module path → directory

// ModuleDir returns the directory, in the module cache, of the version of
// module that the builder module test/tools/<builder> requires, downloading it
// if needed. That is where Crossplane and provider-nop ship their CRDs.
func ModuleDir(builder, module string) (string, error) {
	key := builder + "\x00" + module
	if d, ok := moduleDirs.Load(key); ok {
		return d.(string), nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = filepath.Join(root, "test", "tools", builder)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s in %s: %w: %s", module, cmd.Dir, err, stderr.String())
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("parse go mod download output for %s: %w", module, err)
	}
	if info.Dir == "" {
		return "", errors.New("go mod download " + module + ": no directory: " + info.Error)
	}
	moduleDirs.Store(key, info.Dir)
	return info.Dir, nil
}
