package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CrossplaneNamespace is where Crossplane runs and writes the connection
// Secrets of composite and composed resources.
const CrossplaneNamespace = "crossplane-system"

// claimAPITimeout bounds the wait for Crossplane to serve the example claim.
const claimAPITimeout = 2 * time.Minute

// ControlPlaneOptions configures StartControlPlane.
type ControlPlaneOptions struct {
	// APIServerFlags are extra kube-apiserver flags (see EnvOptions).
	APIServerFlags map[string]string
	// Dir is the cluster's directory (see EnvOptions).
	Dir string
	// CrossplaneV2 runs Crossplane v2 (crossplanev2.go) instead of v1.20 and provider-nop: the same claim API
	// composed by a function, plus the v2 example XRDs.
	CrossplaneV2 bool
}

// ControlPlane is a real Crossplane control plane: a cluster with
// kube-controller-manager, Crossplane v1.20 and provider-nop, serving the
// example claim API of examples/.
type ControlPlane struct {
	*Env
	Crossplane  *Process
	ProviderNop *Process
	// Function is the composition function of a Crossplane v2 control plane (nil on v1.20).
	Function *Process
	// V2 says the control plane runs Crossplane v2.
	V2 bool

	stopFunctionRuntime context.CancelFunc
	lock                *machineLock
}

// StartControlPlane starts a control plane and returns once it serves the
// example claim (XRD offered, claim CRD Established, Composition revised) and
// kube-controller-manager runs. It first takes the machine-wide control-plane
// lock (see the package documentation), waiting for it while ctx allows.
func StartControlPlane(ctx context.Context, opts ControlPlaneOptions) (*ControlPlane, error) {
	lock, err := lockMachine(ctx, controlPlaneLockFile, func(path string) {
		fmt.Fprintf(os.Stderr, "harness: waiting for %s: another control plane runs on this machine\n", path)
	})
	if err != nil {
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	cp := &ControlPlane{lock: lock}
	if err := cp.start(ctx, opts); err != nil {
		_ = cp.Stop()
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	return cp, nil
}

func (cp *ControlPlane) start(ctx context.Context, opts ControlPlaneOptions) error {
	if opts.CrossplaneV2 {
		cp.V2 = true
		return cp.startV2(ctx, opts)
	}
	crds, err := crossplaneCRDDirs()
	if err != nil {
		return err
	}
	cp.Env, err = StartEnv(ctx, "control-plane", EnvOptions{APIServerFlags: opts.APIServerFlags, CRDDirectoryPaths: crds, Dir: opts.Dir})
	if err != nil {
		return err
	}
	return cp.startCrossplaneAndExamples(ctx)
}

// startCrossplaneAndExamples runs Crossplane and provider-nop, applies the
// example XRD and Composition, waits for the claim API, and only then starts
// kube-controller-manager, whose garbage collector would otherwise learn of
// the new kinds up to 30 s late.
func (cp *ControlPlane) startCrossplaneAndExamples(ctx context.Context) error {
	if err := cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: CrossplaneNamespace}}); err != nil {
		return fmt.Errorf("create namespace %s: %w", CrossplaneNamespace, err)
	}
	tlsDir := filepath.Join(cp.Dir, "tls")
	if err := writeTLSDir(tlsDir); err != nil {
		return fmt.Errorf("write TLS files: %w", err)
	}
	if err := cp.startCrossplane(tlsDir); err != nil {
		return err
	}
	if err := cp.startProviderNop(tlsDir); err != nil {
		return err
	}
	if err := cp.waitProviderNop(ctx); err != nil {
		return err
	}
	if err := cp.applyExamples(ctx); err != nil {
		return err
	}
	if err := cp.waitClaimAPI(ctx); err != nil {
		return err
	}
	return cp.StartControllerManager()
}

func (cp *ControlPlane) applyExamples(ctx context.Context) error {
	for _, file := range []string{"xrd.yaml", "composition.yaml"} {
		path, err := ExamplePath(file)
		if err != nil {
			return err
		}
		if err := ApplyFile(ctx, cp.Client, path); err != nil {
			return err
		}
	}
	return nil
}

// waitClaimAPI waits until Crossplane has established and offered the
// example XRD, the claim CRD it generated is Established, and the example
// Composition has a revision: an XR that finds none backs off for seconds.
func (cp *ControlPlane) waitClaimAPI(ctx context.Context) error {
	return Poll(ctx, claimAPITimeout, func() error {
		if err := cp.Crossplane.errIfExited(); err != nil {
			return err
		}
		if err := cp.checkXRD(ctx); err != nil {
			return err
		}
		if err := CRDEstablished(ctx, cp.Client, ExampleClaimCRDName); err != nil {
			return err
		}
		return cp.checkCompositionRevision(ctx)
	})
}

func (cp *ControlPlane) checkXRD(ctx context.Context) error {
	xrd := &unstructured.Unstructured{}
	xrd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.crossplane.io", Version: "v1", Kind: "CompositeResourceDefinition"})
	if err := cp.Client.Get(ctx, client.ObjectKey{Name: ExampleXRDName}, xrd); err != nil {
		return err
	}
	for _, c := range []string{"Established", "Offered"} {
		if err := CheckCondition(xrd, c, "True"); err != nil {
			return err
		}
	}
	return nil
}

func (cp *ControlPlane) checkCompositionRevision(ctx context.Context) error {
	revs := &unstructured.UnstructuredList{}
	revs.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.crossplane.io", Version: "v1", Kind: "CompositionRevisionList"})
	if err := cp.Client.List(ctx, revs, client.MatchingLabels{"crossplane.io/composition-name": ExampleCompositionName}); err != nil {
		return err
	}
	if len(revs.Items) == 0 {
		return fmt.Errorf("composition %s has no revision yet", ExampleCompositionName)
	}
	return nil
}

// CRDEstablished returns nil if the CRD exists and is Established.
func CRDEstablished(ctx context.Context, c client.Client, name string) error {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("CRD %s does not exist yet", name)
		}
		return err
	}
	for _, cond := range crd.Status.Conditions {
		if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
			return nil
		}
	}
	return fmt.Errorf("CRD %s is not Established yet", name)
}

// Stop stops provider-nop (or the function), Crossplane and the cluster, then releases the
// machine-wide lock.
func (cp *ControlPlane) Stop() error {
	var errs []error
	if cp.stopFunctionRuntime != nil {
		cp.stopFunctionRuntime()
	}
	for _, p := range []*Process{cp.ProviderNop, cp.Crossplane, cp.Function} {
		if p != nil {
			errs = append(errs, p.Stop())
		}
	}
	if cp.Env != nil {
		errs = append(errs, cp.Env.Stop())
	}
	cp.lock.unlock()
	return errors.Join(errs...)
}

// LogPaths lists the log files of the control plane's processes.
func (cp *ControlPlane) LogPaths() []string {
	paths := cp.Env.LogPaths()
	for _, p := range []*Process{cp.Crossplane, cp.ProviderNop, cp.Function} {
		if p != nil {
			paths = append(paths, p.LogPath())
		}
	}
	return paths
}
