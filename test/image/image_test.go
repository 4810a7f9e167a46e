package image

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// built is the image the tests look at: both platforms, built once for the
// package by TestMain.
var built struct {
	root    string // the repository
	builder string // the image builder binary
	layout  ociLayout
}

func TestMain(m *testing.M) {
	code, err := buildOnce(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "test/image:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func buildOnce(m *testing.M) (int, error) {
	root, err := harness.RepoRoot()
	if err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp("", "mcp-image-test-")
	if err != nil {
		return 0, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	built.root, built.builder = root, filepath.Join(tmp, "image-build")
	cmd := exec.Command("go", "build", "-o", built.builder, ".")
	cmd.Dir = filepath.Join(root, "test", "tools", "image")
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build the image builder: %v\n%s", err, out)
	}
	built.layout = ociLayout{dir: filepath.Join(tmp, "image")}
	if err := buildImage(built.layout.dir); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// buildImage runs the builder as make image does, for both platforms.
func buildImage(out string, args ...string) error {
	start := time.Now()
	cmd := exec.Command(built.builder, append([]string{"--source", built.root, "--out", out}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the image: %v\n%s", err, b)
	}
	fmt.Fprintf(os.Stderr, "test/image: built %s in %s\n", out, time.Since(start).Round(time.Millisecond))
	return nil
}

func git(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", built.root}, args...)...).Output()
	if err != nil {
		t.Fatalf("git %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// appVersion is the chart's appVersion: the image's tag and version.
func appVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(built.root, "charts", "mcp-connector", "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "appVersion:"); ok {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	t.Fatal("Chart.yaml has no appVersion")
	return ""
}

func TestIndexHoldsBothPlatforms(t *testing.T) {
	ix, platforms := built.layout.platforms(t)
	if ix.MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("index media type %q, want an OCI image index", ix.MediaType)
	}
	var got []string
	for p := range platforms {
		got = append(got, p)
	}
	if len(got) != 2 || platforms["linux/amd64"].Digest == "" || platforms["linux/arm64"].Digest == "" {
		t.Errorf("index platforms %v, want linux/amd64 and linux/arm64", got)
	}
	if v := ix.Annotations["org.opencontainers.image.revision"]; v != git(t, "rev-parse", "HEAD") {
		t.Errorf("index annotation revision %q, want HEAD", v)
	}
}

func TestImageConfig(t *testing.T) {
	_, platforms := built.layout.platforms(t)
	head := git(t, "rev-parse", "HEAD")
	commitTime, err := time.Parse(time.RFC3339, git(t, "log", "-1", "--format=%cI", "HEAD"))
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.title":       "mcp-connector",
		"org.opencontainers.image.description": "Mirrors a Crossplane control plane's claim APIs into an app cluster",
		"org.opencontainers.image.source":      "https://github.com/mcp-connector/mcp-connector",
		"org.opencontainers.image.url":         "https://github.com/mcp-connector/mcp-connector",
		"org.opencontainers.image.version":     appVersion(t),
		"org.opencontainers.image.revision":    head,
		"org.opencontainers.image.created":     commitTime.UTC().Format(time.RFC3339),
		"org.opencontainers.image.licenses":    "NOASSERTION",
	}
	for p, d := range platforms {
		t.Run(p, func(t *testing.T) {
			var m manifest
			built.layout.blob(t, d.Digest, &m)
			var c config
			built.layout.blob(t, m.Config.Digest, &c)
			if c.OS+"/"+c.Architecture != p {
				t.Errorf("config platform %s/%s, want %s", c.OS, c.Architecture, p)
			}
			if diff := cmp.Diff([]string{"/usr/local/bin/mcp-connector"}, c.Config.Entrypoint); diff != "" || len(c.Config.Cmd) != 0 {
				t.Errorf("entrypoint (-want +got):\n%s cmd %v (want none)", diff, c.Config.Cmd)
			}
			if c.Config.User != "65532:65532" {
				t.Errorf("user %q, want 65532:65532", c.Config.User)
			}
			if diff := cmp.Diff(wantLabels, c.Config.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if created, err := time.Parse(time.RFC3339, c.Created); err != nil || !created.Equal(commitTime) {
				t.Errorf("created %q, want the commit's time %s", c.Created, commitTime)
			}
			if len(c.Config.Volumes) != 0 {
				t.Errorf("volumes %v: a read-only root filesystem wants none the chart does not mount", c.Config.Volumes)
			}
			checkFiles(t, m)
		})
	}
}

// checkFiles checks the binary (executable, root-owned, not writable by the
// user) and the CA bundle (Mozilla's roots, parseable).
func checkFiles(t *testing.T, m manifest) {
	t.Helper()
	const bin, ca, passwd = "usr/local/bin/mcp-connector", "etc/ssl/certs/ca-certificates.crt", "etc/passwd"
	files, err := built.layout.files(m, bin, ca, passwd)
	if err != nil {
		t.Fatal(err)
	}
	if h := files[bin].header; h.Mode != 0o755 || h.Uid != 0 || h.Gid != 0 {
		t.Errorf("binary mode %o owner %d:%d, want 755 root:root", h.Mode, h.Uid, h.Gid)
	}
	pemData := files[ca].data
	n := 0
	for block, rest := pem.Decode(pemData); block != nil; block, rest = pem.Decode(rest) {
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			t.Fatalf("CA bundle: certificate %d: %v", n, err)
		}
		n++
	}
	if n < 100 {
		t.Errorf("CA bundle holds %d certificates, want Mozilla's roots (over 100)", n)
	}
	if p := files[passwd].data; !strings.Contains(string(p), ":65532:65532:") {
		t.Errorf("etc/passwd %q, want the user 65532", p)
	}
}

func TestAMD64BinaryPrintsVersion(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("the amd64 binary does not run on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	_, platforms := built.layout.platforms(t)
	var m manifest
	built.layout.blob(t, platforms["linux/amd64"].Digest, &m)
	files, err := built.layout.files(m, "usr/local/bin/mcp-connector")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "mcp-connector")
	if err := os.WriteFile(bin, files["usr/local/bin/mcp-connector"].data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("mcp-connector version: %v\n%s", err, out)
	}
	for _, want := range []string{
		"mcp-connector " + appVersion(t) + "\n",
		"commit: " + git(t, "rev-parse", "HEAD"),
		"go: " + runtime.Version() + "\n",
		"platform: linux/amd64\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("mcp-connector version printed\n%s\nwant a line %q", out, want)
		}
	}
}

func TestTwoBuildsGiveTheSameDigest(t *testing.T) {
	again := ociLayout{dir: filepath.Join(t.TempDir(), "image")}
	if err := buildImage(again.dir); err != nil {
		t.Fatal(err)
	}
	if a, b := built.layout.top(t), again.top(t); a.Digest != b.Digest {
		t.Errorf("two builds of one commit: digests %s and %s", a.Digest, b.Digest)
	}
}

func TestChartDefaultImageIsTheBuiltOne(t *testing.T) {
	top := built.layout.top(t)
	want := top.Annotations["io.containerd.image.name"]
	if tag := top.Annotations["org.opencontainers.image.ref.name"]; !strings.HasSuffix(want, ":"+tag) || tag != appVersion(t) {
		t.Errorf("layout names the image %q with tag %q, want the chart's appVersion %s", want, tag, appVersion(t))
	}
	out, err := exec.Command(helmPath(t), "template", "r", filepath.Join(built.root, "charts", "mcp-connector"),
		"--set", "mcp.namespace=image-test", "--set", "controlPlane.kubeconfigSecret.name=image-test").CombinedOutput()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	var images []string
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "image: "); ok {
			images = append(images, strings.Trim(v, `"`))
		}
	}
	if diff := cmp.Diff([]string{want}, images); diff != "" {
		t.Errorf("the chart's default images (-built +chart):\n%s", diff)
	}
}

// helmPath is the pinned helm: $MCP_HELM (the Makefile exports it), else the
// one make tools builds.
func helmPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("MCP_HELM")
	if p == "" {
		p = filepath.Join(built.root, "bin", "helm-v3.22.0")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("helm: %v (run `make tools` to build the pinned binaries)", err)
	}
	return p
}
