package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// connectorCheckTimeout bounds each wait for the connector in --check.
const connectorCheckTimeout = 2 * time.Minute

// The demo's examples, applied with kubectl to the app cluster, in namespace default.
const (
	claimFile       = "my-cluster.yaml"
	claimName       = "my-cluster"
	claimSecretName = "my-cluster-kubeconfig"
	xrFile          = "database.yaml"
	xrName          = "my-database"
)

// xrSecretName is the name of the connector's copy, in the app cluster, of
// the Secret that the Database's composition composes beside the remote XR
// (named after the XR's mapped name there): docs/sync.md.
func xrSecretName() string {
	remote := sync.RemoteName(clusterID, corev1.NamespaceDefault, xrName)
	return sync.XRSecretName(harness.V2Group, harness.V2XRKind, xrName, harness.V2SecretName(remote))
}

// runCheck proves the demo works: kubectl answers with both kubeconfigs,
// and the demo's "try this" path works: both CRDs mirrored, the claim of
// examples/my-cluster.yaml and the namespaced XR of examples/database.yaml
// applied with kubectl, each Ready and Synced with its Secret in the app
// cluster. The first step that does not complete fails the check.
func runCheck(ctx context.Context, w *harness.World, d demoDir, conn connector) error {
	defer stopConnector(conn)
	start := time.Now()
	for _, kc := range []string{d.appKubeconfig(), d.controlPlaneKubeconfig()} {
		if err := kubectlGetNamespaces(ctx, kc); err != nil {
			return err
		}
	}
	if conn.process == nil {
		fmt.Printf("FAIL  mcp-connector is not running: %v\n", conn.err)
		return errCheck
	}
	if err := connectorSteps(ctx, w, d, conn.process); err != nil {
		if exited, exitErr := conn.process.Exited(); exited {
			fmt.Printf("FAIL  mcp-connector exited (%v); last lines of %s:\n%s\n", exitErr, rel(conn.process.LogPath()), conn.process.Tail(20))
		}
		fmt.Printf("Logs: %s/{app,control-plane}/*.log, %s\n", rel(d.root), rel(conn.process.LogPath()))
		return err
	}
	fmt.Printf("CHECK PASSED (claim and namespaced XR Ready with their Secrets in %s)\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

func kubectlGetNamespaces(ctx context.Context, kubeconfig string) error {
	out, err := exec.CommandContext(ctx, "kubectl", "--kubeconfig", kubeconfig, "get", "ns").CombinedOutput()
	if err != nil {
		fmt.Printf("FAIL  kubectl --kubeconfig %s get ns: %v\n%s", rel(kubeconfig), err, out)
		return errCheck
	}
	fmt.Printf("ok    kubectl --kubeconfig %s get ns:\n%s", rel(kubeconfig), out)
	return nil
}

// connectorSteps runs the demo's steps in order and fails at the first that
// does not complete within connectorCheckTimeout.
func connectorSteps(ctx context.Context, w *harness.World, d demoDir, p *harness.Process) error {
	claim := object(harness.ExampleClaimGVK(), claimName)
	xr := object(harness.V2XRGVK(), xrName)
	steps := []struct {
		what string
		do   func() error
	}{
		{"claim CRD " + harness.ExampleClaimCRDName + " mirrored into the app cluster", func() error {
			return harness.CRDEstablished(ctx, w.App.Client, harness.ExampleClaimCRDName)
		}},
		{"namespaced XR CRD " + harness.V2XRDName + " mirrored into the app cluster", func() error {
			return harness.CRDEstablished(ctx, w.App.Client, harness.V2XRDName)
		}},
		{"kubectl apply -f examples/" + claimFile, func() error { return kubectlApply(ctx, d, claimFile) }},
		{"kubectl apply -f examples/" + xrFile, func() error { return kubectlApply(ctx, d, xrFile) }},
		{"claim default/" + claimName + " Ready and Synced", func() error { return readyAndSynced(ctx, w, claim) }},
		{"connection Secret default/" + claimSecretName, func() error {
			return secretHasKeys(ctx, w, claimSecretName, harness.ExampleConnectionKeys())
		}},
		{"namespaced XR default/" + xrName + " Ready and Synced", func() error { return readyAndSynced(ctx, w, xr) }},
		{"copied composed Secret default/" + xrSecretName(), func() error {
			return secretHasKeys(ctx, w, xrSecretName(), harness.V2ConnectionKeys())
		}},
	}
	for _, s := range steps {
		if err := waitUnlessExited(ctx, p, s.do); err != nil {
			fmt.Printf("FAIL  %s: not reached within %s: %v\n", s.what, connectorCheckTimeout, err)
			return errCheck
		}
		if exited, _ := p.Exited(); exited {
			fmt.Printf("FAIL  %s: mcp-connector exited\n", s.what)
			return errCheck
		}
		fmt.Printf("ok    %s\n", s.what)
	}
	return nil
}

// waitUnlessExited polls f until it succeeds, the connector exits (the
// caller checks which), or connectorCheckTimeout passes.
func waitUnlessExited(ctx context.Context, p *harness.Process, f func() error) error {
	return harness.Poll(ctx, connectorCheckTimeout, func() error {
		if exited, _ := p.Exited(); exited {
			return nil
		}
		return f()
	})
}

// kubectlApply applies an example file to the app cluster, as the printed
// instructions tell the user to.
func kubectlApply(ctx context.Context, d demoDir, file string) error {
	path, err := harness.ExamplePath(file)
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, "kubectl", "--kubeconfig", d.appKubeconfig(), "apply", "-f", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

func object(gvk schema.GroupVersionKind, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(corev1.NamespaceDefault)
	u.SetName(name)
	return u
}

func readyAndSynced(ctx context.Context, w *harness.World, u *unstructured.Unstructured) error {
	if err := w.App.Client.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
		return err
	}
	return errors.Join(harness.CheckCondition(u, "Ready", "True"), harness.CheckCondition(u, "Synced", "True"))
}

func secretHasKeys(ctx context.Context, w *harness.World, name string, keys []string) error {
	s := &corev1.Secret{}
	if err := w.App.Client.Get(ctx, client.ObjectKey{Namespace: corev1.NamespaceDefault, Name: name}, s); err != nil {
		return err
	}
	for _, k := range keys {
		if len(s.Data[k]) == 0 {
			return fmt.Errorf("no key %q yet", k)
		}
	}
	return nil
}
