package chart

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// waitTimeout bounds every wait for the connector or Crossplane.
const waitTimeout = 2 * time.Minute

var connectionGVK = schema.GroupVersionKind{Group: "mcp-connector.io", Version: "v1alpha1", Kind: "Connection"}

// TestConnectorWithChartRBAC runs the real connector as the chart deploys it,
// with nothing more: the chart's objects are created in the app cluster, the
// connector authenticates with a token of the chart's ServiceAccount, and it
// runs with the arguments and environment of the rendered Deployment (mounted
// Secrets become local files, bind addresses free loopback ports, the
// in-cluster config a kubeconfig with that token). The claim rule is narrowed
// to the example API's group: the default "*" would grant everything and hide
// a missing rule. Two replicas run, as with replicaCount 2, and the control
// plane is real Crossplane. It checks that the probes answer, one replica
// holds the Lease, the Connection appears Ready with the mirrored API, a
// claim goes round (mirrored CRD and roles, claim Ready, connection Secret
// copied, Events written, deletion), a withdrawn API's CRD is deleted, and
// that no replica logged a "forbidden" error.
func TestConnectorWithChartRBAC(t *testing.T) {
	w := world(t)
	ns := harness.NewNamespace(t, w.App.Client)
	cpNS := harness.NewNamespace(t, w.ControlPlane.Client)
	secret := controlPlaneKubeconfigSecret(t, w, ns)
	v := base().with("mcp.namespace", cpNS).with("controlPlane.kubeconfigSecret.name", secret).
		with("replicaCount", 2).with("rbac.claimAPIGroups", []any{harness.ExampleGroup})
	replicas := installAndRun(t, w.App, "conn", ns, v)
	waitConnectionReady(t, w.App.Client, cpNS)
	waitLeaseHeld(t, w.App.Client, ns, "mcp-connector-"+cpNS)
	checkMirroredAPI(t, w.App.Client, cpNS)
	claimRoundTrip(t, w.App.Client)
	withdrawAPI(t, w)
	for _, r := range replicas {
		r.checkLog(t)
	}
}

// installAndRun creates the chart's objects, rendered with v, in namespace ns
// of the app cluster and runs the Deployment's replicas as local processes
// that authenticate as the chart's ServiceAccount. It returns once their
// probes succeed.
func installAndRun(t *testing.T, app *harness.Env, release, ns string, v values) []*replica {
	t.Helper()
	m := mustRender(t, release, ns, v)
	createAll(t, app.Config, m)
	d := m.deployment(t)
	kubeconfig := harness.ServiceAccountKubeconfig(t, app, ns, d.Spec.Template.Spec.ServiceAccountName)
	var replicas []*replica
	for i := range int(*d.Spec.Replicas) {
		replicas = append(replicas, startReplica(t, app.Client, d, fmt.Sprintf("%s-%d", d.Name, i), kubeconfig))
	}
	for _, r := range replicas {
		r.waitProbes(t)
	}
	return replicas
}

// controlPlaneKubeconfigSecret stores the control plane's kubeconfig in a
// Secret of the release namespace, as a user would before installing.
func controlPlaneKubeconfigSecret(t *testing.T, w *harness.World, ns string) string {
	t.Helper()
	b, err := os.ReadFile(w.ControlPlane.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "control-plane-kubeconfig"},
		Data: map[string][]byte{"kubeconfig": b}}
	if err := w.App.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s.Name
}

// replica is one connector process run as a pod of the Deployment.
type replica struct {
	*harness.LocalPod
	probe []*corev1.Probe
}

// startReplica runs the connector as the kubelet would run the Deployment's
// container, and stops it when the test ends.
func startReplica(t *testing.T, c client.Client, d *appsv1.Deployment, name, kubeconfig string) *replica {
	t.Helper()
	container := d.Spec.Template.Spec.Containers[0]
	return &replica{LocalPod: harness.StartPod(t, c, d, name, kubeconfig),
		probe: []*corev1.Probe{container.LivenessProbe, container.ReadinessProbe}}
}

// waitProbes waits until the liveness and readiness probes succeed.
func (r *replica) waitProbes(t *testing.T) {
	t.Helper()
	for _, p := range r.probe {
		url := fmt.Sprintf("http://%s%s", r.Addrs[p.HTTPGet.Port.String()], p.HTTPGet.Path)
		harness.Eventually(t, waitTimeout, func() error {
			if exited, err := r.Process.Exited(); exited {
				t.Fatalf("replica %s exited (%v):\n%s", r.Name, err, r.Process.Tail(30))
			}
			resp, err := http.Get(url)
			if err != nil {
				return err
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET %s: %s", url, resp.Status)
			}
			return nil
		})
	}
}

// checkLog fails the test if the replica logged a refusal of the API server.
func (r *replica) checkLog(t *testing.T) {
	t.Helper()
	for _, line := range strings.Split(r.Process.Logs(), "\n") {
		if l := strings.ToLower(line); strings.Contains(l, "forbidden") || strings.Contains(l, "unauthorized") {
			t.Errorf("replica %s: %s", r.Name, line)
		}
	}
}

// waitConnectionReady waits for the Connection to report the control plane
// reachable, its namespace held and the example API mirrored.
func waitConnectionReady(t *testing.T, c client.Client, name string) {
	t.Helper()
	harness.WaitForObject(t, c, connectionGVK, client.ObjectKey{Name: name}, waitTimeout, func(u *unstructured.Unstructured) error {
		if err := checkConditions(u, "Ready", "ControlPlaneReachable", "APIsMirrored"); err != nil {
			return err
		}
		apis, _, _ := unstructured.NestedSlice(u.Object, "status", "apis")
		for _, a := range apis {
			if m, ok := a.(map[string]any); ok && m["name"] == harness.ExampleClaimCRDName && m["state"] == "Mirrored" {
				return nil
			}
		}
		return fmt.Errorf("connection %s does not report %s mirrored: %v", name, harness.ExampleClaimCRDName, apis)
	})
}

func waitLeaseHeld(t *testing.T, c client.Client, ns, name string) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		l := &coordinationv1.Lease{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, l); err != nil {
			return err
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
			return fmt.Errorf("lease %s/%s has no holder", ns, name)
		}
		return nil
	})
}

// checkMirroredAPI checks the mirrored claim CRD and its aggregated roles,
// which the connector may write only because it holds what they grant.
func checkMirroredAPI(t *testing.T, c client.Client, connection string) {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: harness.ExampleClaimCRDName}, crd); err != nil {
		t.Fatalf("mirrored CRD: %v", err)
	}
	if got := crd.Labels["mcp-connector.io/connection"]; got != connection {
		t.Errorf("mirrored CRD is labelled for connection %q, want %q", got, connection)
	}
	for _, suffix := range []string{"edit", "view"} {
		name := "mcp-connector:" + harness.ExampleClaimCRDName + ":" + suffix
		harness.Eventually(t, waitTimeout, func() error {
			return c.Get(context.Background(), client.ObjectKey{Name: name}, &rbacv1.ClusterRole{})
		})
	}
}

// claimRoundTrip creates a claim, waits for it to be Ready with its
// connection Secret copied and an Event written, then deletes it.
func claimRoundTrip(t *testing.T, c client.Client) {
	t.Helper()
	ctx := context.Background()
	ns := harness.NewNamespace(t, c)
	claim := harness.NewExampleClaim(ns, "chart", 1)
	if err := c.Create(ctx, claim); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(claim)
	harness.WaitForObject(t, c, harness.ExampleClaimGVK(), key, waitTimeout, func(u *unstructured.Unstructured) error {
		return checkConditions(u, "Ready", "Synced", "ControlPlaneSynced")
	})
	harness.Eventually(t, waitTimeout, func() error {
		s := &corev1.Secret{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "chart-kubeconfig"}, s); err != nil {
			return err
		}
		for _, k := range harness.ExampleConnectionKeys() {
			if _, ok := s.Data[k]; !ok {
				return fmt.Errorf("connection Secret has no key %s", k)
			}
		}
		return nil
	})
	if err := c.Delete(ctx, claim); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, waitTimeout, func() error {
		err := c.Get(ctx, key, claim.DeepCopy())
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("claim %s still there (%v)", key, err)
	})
}

// withdrawAPI deletes the example XRD in the control plane and waits for the
// connector to delete the mirrored CRD, which no claim uses any more.
func withdrawAPI(t *testing.T, w *harness.World) {
	t.Helper()
	xrd := &unstructured.Unstructured{}
	xrd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.crossplane.io", Version: "v1", Kind: "CompositeResourceDefinition"})
	xrd.SetName(harness.ExampleXRDName)
	if err := w.ControlPlane.Client.Delete(context.Background(), xrd); err != nil {
		t.Fatalf("delete the example XRD: %v", err)
	}
	harness.Eventually(t, waitTimeout, func() error {
		err := w.App.Client.Get(context.Background(), client.ObjectKey{Name: harness.ExampleClaimCRDName}, &apiextensionsv1.CustomResourceDefinition{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("mirrored CRD %s still there (%v)", harness.ExampleClaimCRDName, err)
	})
}

// checkConditions returns nil if every condition of the given types is True.
func checkConditions(u *unstructured.Unstructured, types ...string) error {
	for _, typ := range types {
		if err := harness.CheckCondition(u, typ, "True"); err != nil {
			return err
		}
	}
	return nil
}
