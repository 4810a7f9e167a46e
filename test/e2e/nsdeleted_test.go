package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/cmd/lifecycle"
	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/sync/controlplane"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// goneWindow is how long the test watches a deleted control-plane namespace
// stay deleted. With --probe-interval=1s a connector that re-creates it does
// so within a second or two.
const goneWindow = 10 * time.Second

// A control-plane namespace that the cluster held and that its administrator
// deletes is not re-created, not even by a connector restarted with kill -9:
// the connector stops, says NamespaceDeleted on the Connection and on every
// claim (whose copied Ready turns Unknown at once), and keeps the local
// claims. Running install's step for it (lifecycle.ReopenNamespace, what
// `mcp-connector install` does when run again) brings the namespace back and
// every claim is pushed and synced again.
func TestNamespaceDeletedIsNotRecreated(t *testing.T) {
	ctx := context.Background()
	r := newFaultRig(t)
	r.drainOnCleanup(t)
	c := r.start(t)
	r.waitMirrored(t)
	names := []string{"kept-1", "kept-2"}
	before := map[string]types.UID{}
	for i, n := range names {
		r.create(t, n, int64(i+1))
		r.waitLocal(t, n, readyAndSynced)
		before[n] = r.waitRemote(t, n, hasResourceRef).GetUID()
	}
	checkRecorded(t, r)

	deleteControlPlaneNamespace(t, r.namespace)
	checkStaysGone(t, r.namespace)
	checkNamespaceDeletedShown(t, r, names)

	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	c = r.start(t)
	checkStaysGone(t, r.namespace)
	// The restarted connector probed (it answers for the control plane) and
	// refused: a connector that forgot would have re-created the namespace.
	waitMetric(t, c, "mcp_connector_control_plane_reachable", equals(1))
	waitMetric(t, c, "mcp_connector_control_plane_ready", equals(0))
	checkNamespaceDeletedShown(t, r, names)

	reopened, err := lifecycle.ReopenNamespace(ctx, world.ControlPlane.Client, r.app.Client, r.namespace, "default", r.namespace,
		func(line string) { t.Log(line) })
	if err != nil || !reopened {
		t.Fatalf("ReopenNamespace = %v, %v; want true, nil", reopened, err)
	}
	for _, n := range names {
		r.waitLocal(t, n, readyAndSynced)
		if uid := r.waitRemote(t, n, hasResourceRef).GetUID(); uid == before[n] {
			t.Errorf("remote claim of %s has the uid it had before the namespace was deleted", n)
		}
	}
	waitRigConnection(t, r, condition.ReasonReady)
	checkRecorded(t, r)
}

// checkRecorded checks that the connector's local record names the
// namespace and the holder record it holds.
func checkRecorded(t *testing.T, r *faultRig) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		holder := &corev1.ConfigMap{}
		if err := world.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: r.namespace, Name: controlplane.HolderName}, holder); err != nil {
			return err
		}
		rec, err := (&controlplane.StateStore{Reader: r.app.Client, Namespace: "default", Name: controlplane.StateName(r.namespace)}).Load(context.Background())
		if err != nil {
			return err
		}
		if want := (controlplane.Record{Namespace: r.namespace, HolderUID: holder.UID}); rec != want {
			return fmt.Errorf("local record %+v, want %+v", rec, want)
		}
		return nil
	})
}

func deleteControlPlaneNamespace(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	if err := world.ControlPlane.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, drainTimeout, func() error {
		err := world.ControlPlane.Client.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("namespace %s not gone yet (%v)", ns, err)
	})
}

// checkStaysGone watches the namespace for goneWindow: the absence over
// time is the behaviour under test, so this one wait is a window, not a
// wait for a condition.
func checkStaysGone(t *testing.T, ns string) {
	t.Helper()
	errBack := errors.New("back")
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, goneWindow, true, func(context.Context) (bool, error) {
		got := &corev1.Namespace{}
		if err := world.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Name: ns}, got); err == nil {
			return false, fmt.Errorf("%w: uid %s, created %s", errBack, got.UID, got.CreationTimestamp)
		}
		return false, nil
	})
	if errors.Is(err, errBack) {
		t.Fatalf("the deleted control-plane namespace %s was re-created: %v", ns, err)
	}
}

// checkNamespaceDeletedShown checks that every claim is still there, says
// NamespaceDeleted, and has its copied Ready turned Unknown; and that the
// Connection says NamespaceDeleted.
func checkNamespaceDeletedShown(t *testing.T, r *faultRig, names []string) {
	t.Helper()
	for _, n := range names {
		r.waitLocal(t, n, all(conditionReason(condition.Type, condition.ReasonNamespaceDeleted),
			conditionIs(condition.Type, "False"), conditionIs("Ready", "Unknown"),
			conditionReason("Ready", condition.ReasonNamespaceDeleted)))
	}
	waitRigConnection(t, r, condition.ReasonNamespaceDeleted)
}

// waitRigConnection waits until the rig's Connection's Ready condition has
// the reason.
func waitRigConnection(t *testing.T, r *faultRig, reason string) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(connection.GVK)
		if err := r.app.Client.Get(context.Background(), client.ObjectKey{Name: r.namespace}, u); err != nil {
			return err
		}
		return conditionReason(connection.ConditionReady, reason)(u)
	})
}
