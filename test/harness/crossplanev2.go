package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The binaries of the Crossplane v2 control plane. Keep the versions in step with the Makefile.
var (
	binCrossplaneV2 = binary{env: "MCP_CROSSPLANE_V2", file: "crossplane-v2.3.4"}
	binFunctionPAT  = binary{env: "MCP_FUNCTION_PAT", file: "function-patch-and-transform-v0.10.7"}
)

// CrossplaneLineEnv selects, for RunWithWorld, the Crossplane line of the world: "v2" starts Crossplane v2
// (StartControlPlane with CrossplaneV2), anything else the v1.20 control plane.
const CrossplaneLineEnv = "MCP_E2E_CROSSPLANE"

// CrossplaneV2FromEnv reports whether CrossplaneLineEnv asks for Crossplane v2.
func CrossplaneV2FromEnv() bool { return os.Getenv(CrossplaneLineEnv) == "v2" }

// The example APIs of the Crossplane v2 control plane (files in test/harness/crossplanev2/). The legacy claim
// API of examples/xrd.yaml is served too, unchanged, composed by a function pipeline instead of provider-nop.
const (
	// V2Group is the group of the v2 example XRDs.
	V2Group   = "data.starter.org"
	V2Version = "v1alpha1"
	// V2XRKind is the namespaced XR (v2 XRD, scope Namespaced) whose Composition composes a ConfigMap and,
	// through the function, a Secret named V2SecretName(xr) in the XR's namespace, both controlled by the XR.
	V2XRKind   = "Database"
	V2XRPlural = "databases"
	V2XRDName  = V2XRPlural + "." + V2Group
	// V2CompositionName composes V2XRKind.
	V2CompositionName = "databases-pat"
	// V2ClusterXRKind is a cluster-scoped XR (v2 XRD, scope Cluster): a connector must refuse to mirror it.
	V2ClusterXRKind   = "Bucket"
	V2ClusterXRPlural = "buckets"
	V2ClusterXRDName  = V2ClusterXRPlural + "." + V2Group
	// V2Password is the value of the password key of a Database's composed Secret.
	V2Password = "db-password"
)

// V2XRGVK is the kind of the namespaced example XR.
func V2XRGVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: V2Group, Version: V2Version, Kind: V2XRKind}
}

// V2XRGVR is the resource of the namespaced example XR, for the dynamic client.
func V2XRGVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: V2Group, Version: V2Version, Resource: V2XRPlural}
}

// V2SecretName is the name of the Secret the example Composition composes for a Database: the function's
// default for a v2 XR, <XR name>-connection, in the XR's namespace.
func V2SecretName(xrName string) string { return xrName + "-connection" }

// V2ConfigMapName is the name of the ConfigMap the example Composition composes for a Database.
func V2ConfigMapName(xrName string) string { return xrName + "-config" }

// V2ConnectionKeys are the keys of a Database's composed Secret.
func V2ConnectionKeys() []string { return []string{"password", "endpoint"} }

// NewV2XR returns a Database XR of the given storage size (GB) in namespace.
func NewV2XR(namespace, name string, storageGB int64) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{"storageGB": storageGB, "engine": "postgres"},
	}}
	u.SetGroupVersionKind(V2XRGVK())
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

// v2ExampleFiles are applied, in order, after the function is healthy.
var v2ExampleFiles = []string{"composition-legacy.yaml", "xrd-database.yaml", "composition-database.yaml", "xrd-bucket.yaml"}

// V2ExamplePath returns the path of a file of the Crossplane v2 examples (test/harness/crossplanev2/).
func V2ExamplePath(file string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("find test/harness/crossplanev2/%s: %w", file, err)
	}
	return filepath.Join(root, "test", "harness", "crossplanev2", file), nil
}

// startV2 is start for Crossplane v2: the CRDs of Crossplane v2, no provider, the function as a local process
// with the harness as its runtime, and the example APIs.
func (cp *ControlPlane) startV2(ctx context.Context, opts ControlPlaneOptions) error {
	xp, err := ModuleDir("crossplane-v2", "github.com/crossplane/crossplane/v2")
	if err != nil {
		return err
	}
	for _, b := range []binary{binCrossplaneV2, binFunctionPAT} {
		if _, err := b.path(); err != nil {
			return err
		}
	}
	cp.Env, err = StartEnv(ctx, "control-plane", EnvOptions{
		APIServerFlags: opts.APIServerFlags, CRDDirectoryPaths: []string{filepath.Join(xp, "cluster", "crds")}, Dir: opts.Dir,
	})
	if err != nil {
		return err
	}
	if err := cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: CrossplaneNamespace}}); err != nil {
		return fmt.Errorf("create namespace %s: %w", CrossplaneNamespace, err)
	}
	tlsDir := filepath.Join(cp.Dir, "tls")
	if err := writeTLSDir(tlsDir); err != nil {
		return fmt.Errorf("write TLS files: %w", err)
	}
	if err := cp.createFunctionTLSSecret(ctx, tlsDir); err != nil {
		return err
	}
	fnAddr, err := FreeLoopbackAddr()
	if err != nil {
		return err
	}
	if err := cp.startFunction(tlsDir, fnAddr); err != nil {
		return err
	}
	cacheDir := filepath.Join(cp.Dir, "xpkg-cache")
	ref, err := writeFunctionPackage(cacheDir)
	if err != nil {
		return err
	}
	if err := cp.startCrossplaneV2(tlsDir, cacheDir); err != nil {
		return err
	}
	rtCtx, stopRuntime := context.WithCancel(context.Background())
	cp.stopFunctionRuntime = stopRuntime
	go cp.runFunctionRuntime(rtCtx, "dns:///"+fnAddr)
	if err := Apply(ctx, cp.Client, newFunction(ref)); err != nil {
		return err
	}
	if err := Poll(ctx, claimAPITimeout, func() error {
		if err := cp.errIfV2Exited(); err != nil {
			return err
		}
		return cp.checkFunctionHealthy(ctx)
	}); err != nil {
		return fmt.Errorf("function %s: %w", FunctionPATName, err)
	}
	if err := cp.applyV2Examples(ctx); err != nil {
		return err
	}
	if err := cp.waitClaimAPI(ctx); err != nil {
		return err
	}
	if err := cp.waitV2APIs(ctx); err != nil {
		return err
	}
	return cp.StartControllerManager()
}

// startCrossplaneV2 runs Crossplane v2 with the External package runtime (it starts no Deployment for the
// function), its client certificate from tlsDir (mTLS to the function is mandatory), and its metrics and
// health probe on ports of the kernel's choosing (the function holds :8080).
func (cp *ControlPlane) startCrossplaneV2(tlsDir, cacheDir string) error {
	path, err := binCrossplaneV2.path()
	if err != nil {
		return err
	}
	cmd := exec.Command(path, "--debug", "core", "start",
		"--namespace="+CrossplaneNamespace,
		"--enable-webhooks=false",
		"--package-runtime=External",
		"--tls-client-certs-dir="+tlsDir,
		"--tls-server-certs-dir="+tlsDir,
		"--cache-dir="+cacheDir,
		"--metrics-port=0",
		"--health-probe-port=0",
		"--poll-interval="+crossplanePollInterval,
	)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cp.Kubeconfig)
	cp.Crossplane, err = startProcess("crossplane", filepath.Join(cp.Dir, "crossplane.log"), cmd)
	return err
}

func (cp *ControlPlane) errIfV2Exited() error {
	if err := cp.Crossplane.errIfExited(); err != nil {
		return err
	}
	return cp.Function.errIfExited()
}

func (cp *ControlPlane) applyV2Examples(ctx context.Context) error {
	path, err := ExamplePath("xrd.yaml")
	if err != nil {
		return err
	}
	paths := []string{path}
	for _, f := range v2ExampleFiles {
		p, err := V2ExamplePath(f)
		if err != nil {
			return err
		}
		paths = append(paths, p)
	}
	for _, p := range paths {
		if err := ApplyFile(ctx, cp.Client, p); err != nil {
			return err
		}
	}
	return nil
}

// waitV2APIs waits until both v2 XRDs are Established with their CRDs, and the Database Composition has a
// revision whose pipeline Crossplane validated (it composes nothing before), and so has the legacy one.
func (cp *ControlPlane) waitV2APIs(ctx context.Context) error {
	return Poll(ctx, claimAPITimeout, func() error {
		if err := cp.errIfV2Exited(); err != nil {
			return err
		}
		for _, name := range []string{V2XRDName, V2ClusterXRDName} {
			xrd := &unstructured.Unstructured{}
			xrd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.crossplane.io", Version: "v2", Kind: "CompositeResourceDefinition"})
			if err := cp.Client.Get(ctx, client.ObjectKey{Name: name}, xrd); err != nil {
				return err
			}
			if err := CheckCondition(xrd, "Established", "True"); err != nil {
				return err
			}
			if err := CRDEstablished(ctx, cp.Client, name); err != nil {
				return err
			}
		}
		for _, comp := range []string{ExampleCompositionName, V2CompositionName} {
			if err := cp.checkPipelineValid(ctx, comp); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkPipelineValid returns nil once a revision of the Composition says ValidPipeline=True.
func (cp *ControlPlane) checkPipelineValid(ctx context.Context, composition string) error {
	revs := &unstructured.UnstructuredList{}
	revs.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.crossplane.io", Version: "v1", Kind: "CompositionRevisionList"})
	if err := cp.Client.List(ctx, revs, client.MatchingLabels{"crossplane.io/composition-name": composition}); err != nil {
		return err
	}
	if len(revs.Items) == 0 {
		return fmt.Errorf("composition %s has no revision yet", composition)
	}
	var last error
	for i := range revs.Items {
		if last = CheckCondition(&revs.Items[i], "ValidPipeline", "True"); last == nil {
			return nil
		}
	}
	return last
}
