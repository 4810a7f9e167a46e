package chart

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// helmFile is the pinned helm that `make tools` builds into <repo>/bin. Keep
// the version in step with HELM_VERSION in the Makefile.
const helmFile = "helm-v3.22.0"

// helmPath returns the pinned helm: $MCP_HELM (the Makefile exports it), else
// <repo>/bin/helm-<version>. A missing binary fails the test and says how to
// build it.
func helmPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("MCP_HELM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("MCP_HELM=%s: %v (run `make tools` to build the pinned binaries)", p, err)
		}
		return p
	}
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatalf("find %s: %v (set MCP_HELM, or run `make tools`)", helmFile, err)
	}
	p := filepath.Join(root, "bin", helmFile)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not found at %s: run `make tools` to build the pinned binaries", helmFile, p)
	}
	return p
}

// chartDir is charts/mcp-connector.
func chartDir(t testing.TB) string {
	t.Helper()
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "charts", "mcp-connector")
}

// values are chart values, written to a values file for helm.
type values map[string]any

// with returns a copy of v with the dotted key set (intermediate maps are
// created or copied, never shared with v).
func (v values) with(key string, value any) values {
	out := deepCopy(v)
	parts := strings.Split(key, ".")
	m := map[string]any(out)
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
		}
		m[p] = next
		m = next
	}
	m[parts[len(parts)-1]] = value
	return out
}

func deepCopy(v values) values {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // values hold only JSON types
	}
	out := values{}
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// helm runs the pinned helm with args and returns its stdout; err carries
// stderr.
func helm(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmPath(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// No repository configuration, cache or plugins of whoever runs the tests.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// valuesFile writes v as a values file (JSON is YAML) and returns its path.
func valuesFile(t testing.TB, v values) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// render runs `helm template` for release in namespace with v.
func render(t testing.TB, release, namespace string, v values) (*manifest, error) {
	t.Helper()
	out, err := helm(t, "template", release, chartDir(t), "--namespace", namespace, "--values", valuesFile(t, v))
	if err != nil {
		return nil, err
	}
	objs, err := decodeObjects(out)
	if err != nil {
		return nil, fmt.Errorf("decode rendered chart: %w\n%s", err, out)
	}
	return &manifest{Objects: objs}, nil
}

// mustRender is render that fails the test on an error.
func mustRender(t testing.TB, release, namespace string, v values) *manifest {
	t.Helper()
	m, err := render(t, release, namespace, v)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func decodeObjects(s string) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(s), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// manifest is the rendered chart.
type manifest struct {
	Objects []*unstructured.Unstructured
}

// find returns the objects of a kind.
func (m *manifest) find(kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range m.Objects {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// one returns the only object of a kind, converted into out.
func (m *manifest) one(t testing.TB, kind string, out any) {
	t.Helper()
	objs := m.find(kind)
	if len(objs) != 1 {
		t.Fatalf("rendered %d objects of kind %s, want 1", len(objs), kind)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(objs[0].Object, out); err != nil {
		t.Fatalf("convert %s: %v", kind, err)
	}
}

func (m *manifest) deployment(t testing.TB) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	m.one(t, "Deployment", d)
	return d
}

func (m *manifest) clusterRole(t testing.TB) *rbacv1.ClusterRole {
	t.Helper()
	r := &rbacv1.ClusterRole{}
	m.one(t, "ClusterRole", r)
	return r
}

// args returns the connector container's arguments as flag → values (the
// leading "run" under the key "").
func args(d *appsv1.Deployment) map[string][]string {
	out := map[string][]string{}
	for _, a := range d.Spec.Template.Spec.Containers[0].Args {
		name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") {
			name, value = "", a
		} else if !ok {
			value = "true"
		}
		out[name] = append(out[name], value)
	}
	return out
}
