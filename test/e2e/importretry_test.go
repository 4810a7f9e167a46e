package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// A claim skipped at import because its namespace is missing in the app
// cluster is imported as soon as that namespace is created, by the running
// connector (no restart): bound to the very same remote claim and
// composite, with its connection Secret under the recorded name.
func TestImportRetriedWhenNamespaceAppears(t *testing.T) {
	r := newFaultRig(t)
	r.drainOnCleanup(t)
	r.claims = "arrives-later"
	create(t, r.app.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.claims}})
	c := r.start(t)
	r.waitMirrored(t)
	want := map[string]int64{"late": 1}
	r.create(t, "late", 1)
	r.converge(t, want)
	waitSecretIn(t, r.app.Client, r.claims, localSecretName("late"))
	before := map[string]*unstructured.Unstructured{"late": r.waitRemote(t, "late", hasResourceRef)}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	r.orphanAsUninstall(t, want)
	removeEmptyNamespace(t, r.app, r.claims)

	c = r.start(t)
	harness.Eventually(t, waitTimeout, func() error {
		if !strings.Contains(c.Logs(), "its namespace does not exist in this cluster") {
			return fmt.Errorf("the connector has not skipped the claim yet")
		}
		return nil
	})
	if locals, err := r.listLocal(); err != nil || len(locals) != 0 {
		t.Fatalf("local claims before the namespace exists: %d (%v), want none", len(locals), err)
	}
	create(t, r.app.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.claims}})
	r.converge(t, want)
	r.checkImported(t, before)
}

// removeEmptyNamespace deletes a namespace whose objects are gone already
// and finalizes it, as the namespace controller (which this app cluster
// does not run) would, then waits until it is gone.
func removeEmptyNamespace(t *testing.T, env *harness.Env, name string) {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(ctx, ns); err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, waitTimeout, func() error {
		cur, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		cur.Spec.Finalizers = nil
		if _, err := cs.CoreV1().Namespaces().Finalize(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return err
		}
		return fmt.Errorf("namespace %s still exists", name)
	})
}
