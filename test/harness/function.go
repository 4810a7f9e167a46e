package harness

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The composition function of the Crossplane v2 control plane: function-patch-and-transform, built from its Go
// module (test/tools/function-pat) and run as a local process. Crossplane runs with the External package runtime,
// so nothing starts a Deployment for it: the harness plays the function runtime (runFunctionRuntime).
const (
	// FunctionPATName is the name of the Function object the v2 Compositions' pipeline steps refer to.
	FunctionPATName   = "function-patch-and-transform"
	functionPATModule = "github.com/crossplane-contrib/function-patch-and-transform"
	// functionPackageSource is the package's name (the registry part needs a dot to pass the Function CRD's
	// pattern). No registry serves it: the package is referenced by digest, so Crossplane never asks one (a tag
	// would make it resolve the digest from the registry first), and read from Crossplane's cache.
	functionPackageSource = "example.test/fns/function-patch-and-transform"
	// functionTLSSecret holds the function's serving certificate; the FunctionRevision names it in
	// status.tlsServerSecretName, without which Crossplane keeps the revision unhealthy.
	functionTLSSecret = "function-patch-and-transform-tls"
)

// functionMetricsPort is the port the function SDK's metrics server binds on every address; no flag moves it,
// so only one function runs per network namespace, and Crossplane v2 gets other ports.
const functionMetricsPort = "8080"

// functionPackage returns the package.yaml of the function (its package/crossplane.yaml followed by its input
// CRDs, as the OCI image's layer holds it) and the digest the harness gives it.
func functionPackage() ([]byte, string, error) {
	dir, err := ModuleDir("function-pat", functionPATModule)
	if err != nil {
		return nil, "", err
	}
	meta, err := os.ReadFile(filepath.Join(dir, "package", "crossplane.yaml"))
	if err != nil {
		return nil, "", fmt.Errorf("read the function's package metadata: %w", err)
	}
	var b bytes.Buffer
	b.Write(meta)
	inputs, err := filepath.Glob(filepath.Join(dir, "package", "input", "*.yaml"))
	if err != nil {
		return nil, "", err
	}
	for _, p := range inputs {
		in, err := os.ReadFile(p)
		if err != nil {
			return nil, "", fmt.Errorf("read the function's input CRD: %w", err)
		}
		if !bytes.HasSuffix(b.Bytes(), []byte("\n")) {
			b.WriteByte('\n')
		}
		if !bytes.HasPrefix(in, []byte("---")) {
			b.WriteString("---\n")
		}
		b.Write(in)
	}
	sum := sha256.Sum256(b.Bytes())
	return b.Bytes(), "sha256:" + hex.EncodeToString(sum[:]), nil
}

// packageCacheFile is the file Crossplane's package cache reads for the package source@digest: the cache id
// of crossplane-runtime's xpkg.FriendlyID (source cut at 50 bytes, "-", digest cut at 12 bytes, made a DNS
// label) with the extension .gz.
func packageCacheFile(cacheDir, source, digest string) string {
	id := cut(source, 50) + "-" + cut(digest, 12)
	return filepath.Join(cacheDir, dnsLabel(id)+".gz")
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// dnsLabel keeps [a-z0-9], turns '.', '/', ':' and '-' into '-' (except first and last), stops after 63 bytes
// and trims dashes, as xpkg.ToDNSLabel does.
func dnsLabel(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') {
			b.WriteByte(c)
		}
		if strings.IndexByte("./:-", c) >= 0 && i != 0 && i != 62 && i != len(s)-1 {
			b.WriteByte('-')
		}
		if i == 62 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

// writeFunctionPackage puts the function's package into Crossplane's cache and returns the reference to give
// the Function (source@digest).
func writeFunctionPackage(cacheDir string) (string, error) {
	pkg, digest, err := functionPackage()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	if _, err := w.Write(pkg); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	if err := os.WriteFile(packageCacheFile(cacheDir, functionPackageSource, digest), gz.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("write the function package into Crossplane's cache: %w", err)
	}
	return functionPackageSource + "@" + digest, nil
}

// startFunction runs function-patch-and-transform on addr, serving mTLS with the certificates of tlsDir (the
// same CA signs Crossplane's client certificate).
func (cp *ControlPlane) startFunction(tlsDir, addr string) error {
	path, err := binFunctionPAT.path()
	if err != nil {
		return err
	}
	if err := checkPortsFree([]string{functionMetricsPort}); err != nil {
		return fmt.Errorf("%s binds its metrics on :%s: %w", FunctionPATName, functionMetricsPort, err)
	}
	cmd := exec.Command(path, "--debug", "--address="+addr, "--tls-certs-dir="+tlsDir)
	cp.Function, err = startProcess(FunctionPATName, filepath.Join(cp.Dir, FunctionPATName+".log"), cmd)
	return err
}

// createFunctionTLSSecret stores the function's serving certificate in crossplane-system.
func (cp *ControlPlane) createFunctionTLSSecret(ctx context.Context, tlsDir string) error {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: CrossplaneNamespace, Name: functionTLSSecret}, Data: map[string][]byte{}}
	for _, f := range []string{"tls.crt", "tls.key", "ca.crt"} {
		b, err := os.ReadFile(filepath.Join(tlsDir, f))
		if err != nil {
			return err
		}
		s.Data[f] = b
	}
	if err := cp.Client.Create(ctx, s); err != nil {
		return fmt.Errorf("create Secret %s/%s: %w", CrossplaneNamespace, functionTLSSecret, err)
	}
	return nil
}

// newFunction returns the Function object of the package ref, read from the cache only.
func newFunction(ref string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"package":                  ref,
			"packagePullPolicy":        "Never",
			"skipDependencyResolution": true,
		},
	}}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: "pkg.crossplane.io", Version: "v1", Kind: "Function"})
	u.SetName(FunctionPATName)
	return u
}

// functionRuntimeInterval is how often the harness's function runtime looks at the FunctionRevisions.
const functionRuntimeInterval = 500 * time.Millisecond

// runFunctionRuntime plays Crossplane's function runtime until ctx ends: every revision of the Function gets,
// in its status, the endpoint of the local process, the name of the TLS Secret and RuntimeHealthy=True.
// Errors (a 409 when Crossplane wrote the status first, say) are retried at the next tick.
func (cp *ControlPlane) runFunctionRuntime(ctx context.Context, endpoint string) {
	t := time.NewTicker(functionRuntimeInterval)
	defer t.Stop()
	for {
		_ = cp.markFunctionRevisions(ctx, endpoint)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// markFunctionRevisions writes the runtime status of every FunctionRevision of the Function that lacks it.
func (cp *ControlPlane) markFunctionRevisions(ctx context.Context, endpoint string) error {
	revs := &unstructured.UnstructuredList{}
	revs.SetGroupVersionKind(schema.GroupVersionKind{Group: "pkg.crossplane.io", Version: "v1", Kind: "FunctionRevisionList"})
	if err := cp.Client.List(ctx, revs, client.MatchingLabels{"pkg.crossplane.io/package": FunctionPATName}); err != nil {
		return err
	}
	var errs []error
	for i := range revs.Items {
		rev := &revs.Items[i]
		if !setRuntimeStatus(rev, endpoint) {
			continue
		}
		// An update of the status subresource, not a merge patch: that would replace the conditions Crossplane
		// wrote. A conflict is retried at the next tick with a fresh read.
		if err := cp.Client.Status().Update(ctx, rev); err != nil && !apierrors.IsConflict(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// setRuntimeStatus sets, in a FunctionRevision, what Crossplane's function runtime would: the endpoint, the
// TLS Secret and RuntimeHealthy=True. It reports whether anything changed.
func setRuntimeStatus(rev *unstructured.Unstructured, endpoint string) bool {
	changed := false
	if got, _, _ := unstructured.NestedString(rev.Object, "status", "endpoint"); got != endpoint {
		_ = unstructured.SetNestedField(rev.Object, endpoint, "status", "endpoint")
		changed = true
	}
	if got, _, _ := unstructured.NestedString(rev.Object, "status", "tlsServerSecretName"); got != functionTLSSecret {
		_ = unstructured.SetNestedField(rev.Object, functionTLSSecret, "status", "tlsServerSecretName")
		changed = true
	}
	if c, ok := GetCondition(rev, "RuntimeHealthy"); ok && c.Status == "True" {
		return changed
	}
	conds, _, _ := unstructured.NestedSlice(rev.Object, "status", "conditions")
	kept := conds[:0]
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "RuntimeHealthy" {
			continue
		}
		kept = append(kept, c)
	}
	kept = append(kept, map[string]any{
		"type":               "RuntimeHealthy",
		"status":             "True",
		"reason":             "HealthyPackageRuntime",
		"lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
	})
	_ = unstructured.SetNestedSlice(rev.Object, kept, "status", "conditions")
	return true
}

// checkFunctionHealthy returns nil once the Function is Installed and Healthy.
func (cp *ControlPlane) checkFunctionHealthy(ctx context.Context) error {
	fn := &unstructured.Unstructured{}
	fn.SetGroupVersionKind(schema.GroupVersionKind{Group: "pkg.crossplane.io", Version: "v1", Kind: "Function"})
	if err := cp.Client.Get(ctx, client.ObjectKey{Name: FunctionPATName}, fn); err != nil {
		return err
	}
	for _, c := range []string{"Installed", "Healthy"} {
		if err := CheckCondition(fn, c, "True"); err != nil {
			return err
		}
	}
	return nil
}
