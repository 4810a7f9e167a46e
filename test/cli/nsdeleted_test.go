package cli

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// TestInstallAgainReopensDeletedNamespace: the connector, run under the
// chart's RBAC, records the control-plane namespace it holds in its own
// namespace; when the namespace is deleted it stops with NamespaceDeleted;
// `mcp-connector install` run again re-creates the namespace (and does not
// refuse as a second install), and the claims sync again. Uninstall then
// removes the record too.
func TestInstallAgainReopensDeletedNamespace(t *testing.T) {
	world.LogOnFailure(t)
	ctx := context.Background()
	releaseNS := harness.NewNamespace(t, world.App.Client)
	cpNS := newControlPlaneNamespaceName(t)
	release := "mcp-connector-" + cpNS
	record := client.ObjectKey{Namespace: releaseNS, Name: "mcp-connector-state-" + cpNS}

	// A minted identity lives in the control-plane namespace and goes with it
	// (docs/cli.md): this connector keeps the given credentials.
	proc := install(t, releaseNS, cpNS, release, "Created namespace "+cpNS+" in control plane", "--use-given-credentials")
	claims := createClaims(t, []string{harness.NewNamespace(t, world.App.Client)}, 2)
	harness.Eventually(t, waitTimeout, func() error {
		cm := &corev1.ConfigMap{}
		if err := world.App.Client.Get(ctx, record, cm); err != nil {
			return err
		}
		if cm.Data["controlPlaneNamespace"] != cpNS || cm.Data["holderUID"] == "" {
			return fmt.Errorf("record %s holds %v", record, cm.Data)
		}
		return nil
	})

	deleteNamespaceIn(t, world.ControlPlane.Client, cpNS)
	for _, c := range claims {
		harness.WaitForObject(t, world.App.Client, harness.ExampleClaimGVK(), client.ObjectKeyFromObject(c), waitTimeout, func(u *unstructured.Unstructured) error {
			if got, _ := harness.GetCondition(u, "ControlPlaneSynced"); got.Reason != "NamespaceDeleted" {
				return fmt.Errorf("ControlPlaneSynced is %+v, want reason NamespaceDeleted", got)
			}
			return nil
		})
	}
	if err := world.ControlPlane.Client.Get(ctx, client.ObjectKey{Name: cpNS}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the deleted control-plane namespace %s is back before install ran again (get: %v)", cpNS, err)
	}

	out := runCLI(t, "install", "ctp1", cpNS, "-n", releaseNS, "--control-plane-kubeconfig="+world.ControlPlane.Kubeconfig, "--use-given-credentials")
	checkOutput(t, out, "Re-created namespace "+cpNS, "claims namespace "+cpNS+" again")
	for _, c := range claims {
		waitSynced(t, c)
	}
	checkOutput(t, runCLI(t, "status", cpNS), "Claims: 2 in sync, 0 stale, 0 in conflict")

	uninstall(t, releaseNS, cpNS, release, proc, len(claims))
	checkAppClean(t, releaseNS, cpNS, release, claims)
	if err := world.App.Client.Get(ctx, record, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Errorf("the connector's record %s after uninstall: %v, want it gone", record, err)
	}
}

// deleteNamespaceIn deletes a namespace and waits until it is gone.
func deleteNamespaceIn(t *testing.T, c client.Client, name string) {
	t.Helper()
	if err := c.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, waitTimeout, func() error {
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace %s not gone yet (%v)", name, err)
		}
		return nil
	})
}
