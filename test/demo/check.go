package main

import (
	"context"
	"fmt"
	"os/exec"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// connectorCheckTimeout bounds each wait for the connector in --check.
const connectorCheckTimeout = time.Minute

// result of one check step. Warnings concern the connector, which is under
// development: they are reported but do not fail the check.
type result int

const (
	passed result = iota
	warned
	failed
)

// runCheck proves the demo works: kubectl answers with both kubeconfigs. It
// then walks the demo's "try this" path with the connector (claim CRD
// mirrored, examples/claim.yaml Ready with its Secret) and reports on it; the
// connector fails the check only if it started and then died.
func runCheck(ctx context.Context, w *harness.World, d demoDir, conn connector) error {
	defer stopConnector(conn)
	worst := passed
	for _, kc := range []string{d.appKubeconfig(), d.controlPlaneKubeconfig()} {
		worst = max(worst, kubectlGetNamespaces(ctx, kc))
	}
	worst = max(worst, checkConnector(ctx, w, conn))
	switch worst {
	case failed:
		return errCheck
	case warned:
		fmt.Println("CHECK PASSED, with warnings about the connector")
	default:
		fmt.Println("CHECK PASSED")
	}
	return nil
}

func kubectlGetNamespaces(ctx context.Context, kubeconfig string) result {
	out, err := exec.CommandContext(ctx, "kubectl", "--kubeconfig", kubeconfig, "get", "ns").CombinedOutput()
	if err != nil {
		fmt.Printf("FAIL  kubectl --kubeconfig %s get ns: %v\n%s", rel(kubeconfig), err, out)
		return failed
	}
	fmt.Printf("ok    kubectl --kubeconfig %s get ns:\n%s", rel(kubeconfig), out)
	return passed
}

// checkConnector reports on the connector: not built, died, or how far the
// demo's path got.
func checkConnector(ctx context.Context, w *harness.World, conn connector) result {
	if conn.process == nil {
		fmt.Printf("WARN  mcp-connector is not running: %v\n", conn.err)
		return warned
	}
	r := connectorSteps(ctx, w, conn.process)
	if exited, exitErr := conn.process.Exited(); exited {
		fmt.Printf("FAIL  mcp-connector exited (%v); last lines of %s:\n%s\n", exitErr, rel(conn.process.LogPath()), conn.process.Tail(20))
		return failed
	}
	return r
}

// connectorSteps runs the demo's steps in order and stops at the first that
// does not complete.
func connectorSteps(ctx context.Context, w *harness.World, p *harness.Process) result {
	steps := []struct {
		what string
		do   func() error
	}{
		{"claim CRD " + harness.ExampleClaimCRDName + " mirrored into the app cluster", func() error {
			return harness.CRDEstablished(ctx, w.App.Client, harness.ExampleClaimCRDName)
		}},
		{"examples/claim.yaml applied to the app cluster", func() error { return applyExampleClaim(ctx, w) }},
		{"claim default/demo Ready in the app cluster", func() error { return claimReady(ctx, w) }},
		{"connection Secret default/demo-kubeconfig in the app cluster", func() error { return secretDown(ctx, w) }},
	}
	for _, s := range steps {
		if err := waitUnlessExited(ctx, p, s.do); err != nil {
			fmt.Printf("WARN  not reached with mcp-connector: %s: %v\n", s.what, err)
			return warned
		}
		fmt.Printf("ok    %s\n", s.what)
	}
	return passed
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

func applyExampleClaim(ctx context.Context, w *harness.World) error {
	path, err := harness.ExamplePath("claim.yaml")
	if err != nil {
		return err
	}
	objs, err := harness.ReadObjects(path)
	if err != nil {
		return err
	}
	for _, o := range objs {
		o.SetNamespace(corev1.NamespaceDefault)
		if err := harness.Apply(ctx, w.App.Client, o); err != nil {
			return err
		}
	}
	return nil
}

func claimReady(ctx context.Context, w *harness.World) error {
	claim := &unstructured.Unstructured{}
	claim.SetGroupVersionKind(harness.ExampleClaimGVK())
	claim.SetNamespace(corev1.NamespaceDefault)
	claim.SetName("demo")
	if err := w.App.Client.Get(ctx, client.ObjectKeyFromObject(claim), claim); err != nil {
		return err
	}
	return harness.CheckCondition(claim, "Ready", "True")
}

func secretDown(ctx context.Context, w *harness.World) error {
	s := &corev1.Secret{}
	if err := w.App.Client.Get(ctx, client.ObjectKey{Namespace: corev1.NamespaceDefault, Name: "demo-kubeconfig"}, s); err != nil {
		return err
	}
	for _, k := range harness.ExampleConnectionKeys() {
		if len(s.Data[k]) == 0 {
			return fmt.Errorf("no key %q yet", k)
		}
	}
	return nil
}
