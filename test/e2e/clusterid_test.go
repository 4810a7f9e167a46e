package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/sync/controlplane"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// A cloned app cluster (a second app cluster with the same cluster id,
// pointed at the same control-plane namespace) is refused while the
// original's connector lives: its Connection and its claims say
// ClusterIDInUse, naming the holder, and nothing of it reaches the control
// plane, while the original keeps syncing. Once the original stops
// gracefully (it releases the Lease), the clone takes over.
func TestSecondConnectorWithSameClusterIDRefused(t *testing.T) {
	ctx := context.Background()
	r := newFaultRig(t)
	r.drainOnCleanup(t)
	first := r.start(t)
	r.waitMirrored(t)
	r.create(t, "original", 1)
	r.waitLocal(t, "original", readyAndSynced)
	original := r.waitRemote(t, "original", hasResourceRef)
	holder := leaseHolderOf(t, r.namespace, r.clusterID)

	clone, cloneConn := startClone(t, r)
	harness.Eventually(t, waitTimeout, func() error {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(connection.GVK)
		if err := clone.Client.Get(ctx, client.ObjectKey{Name: r.namespace}, u); err != nil {
			return err
		}
		if err := conditionReason(connection.ConditionReady, condition.ReasonClusterIDInUse)(u); err != nil {
			return err
		}
		if c, _ := harness.GetCondition(u, connection.ConditionReady); !strings.Contains(c.Message, holder) || !strings.Contains(c.Message, "--cluster-id") {
			return fmt.Errorf("the message does not name the holder %s and the fix: %s", holder, c.Message)
		}
		return nil
	})
	waitMetric(t, cloneConn, "mcp_connector_control_plane_ready", equals(0))
	harness.Eventually(t, waitTimeout, func() error { return harness.CRDEstablished(ctx, clone.Client, harness.ExampleClaimCRDName) })
	local := harness.NewExampleClaim(r.claims, "cloned", 2)
	create(t, clone.Client, local)
	cloneKey := client.ObjectKeyFromObject(local)
	harness.WaitForObject(t, clone.Client, local.GroupVersionKind(), cloneKey, waitTimeout,
		conditionReason(condition.Type, condition.ReasonClusterIDInUse))
	if _, err := r.remote("cloned"); !apierrors.IsNotFound(err) {
		t.Errorf("the refused clone's claim reached the control plane (get: %v)", err)
	}

	// The original keeps syncing.
	r.setCount(t, "original", 3)
	r.waitRemote(t, "original", remoteCount(3))
	r.create(t, "later", 1)
	r.waitLocal(t, "later", readyAndSynced)

	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	harness.WaitForObject(t, clone.Client, local.GroupVersionKind(), cloneKey, waitTimeout, readyAndSynced)
	t.Logf("the clone took over %s after the original stopped", time.Since(stopped).Round(100*time.Millisecond))
	if now := leaseHolderOf(t, r.namespace, r.clusterID); now == holder {
		t.Errorf("the Lease is still held by the stopped connector %s", holder)
	}
	if got, err := r.remote("original"); err != nil || got.GetUID() != original.GetUID() {
		t.Errorf("the original's remote claim after the take-over: %v (uid %v, want %s)", err, uidOf(got), original.GetUID())
	}
}

// startClone starts an app cluster of its own and, on it, a connector with
// the rig's cluster id and control-plane namespace: what a cloned or
// restored app cluster runs.
func startClone(t *testing.T, r *faultRig) (*harness.Env, *harness.Connector) {
	t.Helper()
	clone, err := harness.StartEnv(context.Background(), "clone-app", harness.EnvOptions{})
	if err != nil {
		t.Fatalf("start the clone's app cluster: %v", err)
	}
	t.Cleanup(func() { _ = clone.Stop() })
	create(t, clone.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.claims}})
	cfg, err := harness.NewConnectorConfig(clone, world.ControlPlane.Env, r.namespace, r.clusterID)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ControlPlaneKubeconfig = r.cfg.ControlPlaneKubeconfig
	cfg.ExtraArgs = []string{"--probe-interval=1s"}
	p, err := harness.StartConnector(context.Background(), t.TempDir(), cfg.Args()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- last lines of the clone's connector ---\n%s", p.Tail(40))
		}
		_ = p.Stop()
	})
	return clone, &harness.Connector{Process: p, Config: cfg}
}

// leaseHolderOf returns the holder of the cluster-id Lease in the
// control-plane namespace, waiting until there is one.
func leaseHolderOf(t *testing.T, ns, clusterID string) string {
	t.Helper()
	var holder string
	harness.Eventually(t, waitTimeout, func() error {
		lease := &coordinationv1.Lease{}
		if err := world.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: controlplane.LeaseName(clusterID)}, lease); err != nil {
			return err
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			return fmt.Errorf("Lease %s has no holder", lease.Name)
		}
		holder = *lease.Spec.HolderIdentity
		return nil
	})
	return holder
}

func remoteCount(n int64) func(*unstructured.Unstructured) error {
	return func(u *unstructured.Unstructured) error {
		if got, _, _ := unstructured.NestedInt64(u.Object, "spec", "nodes", "count"); got != n {
			return fmt.Errorf("remote count %d, want %d", got, n)
		}
		return nil
	}
}

func uidOf(u *unstructured.Unstructured) any {
	if u == nil {
		return nil
	}
	return u.GetUID()
}
