package e2e

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// pendingNamespace is where a connector run by the harness (no
// POD_NAMESPACE) keeps its record of pending orphans.
const pendingNamespace = "default"

// A claim annotated deletion-policy Orphan and deleted while the control
// plane does not answer goes at once; its remote claim is recorded as a
// pending orphan and, when the control plane answers, marked orphaned (the
// very same object), so that a new local claim of the same name finds it
// foreign. A claim without the annotation still waits for the control plane.
func TestOrphanWhileControlPlaneAway(t *testing.T) {
	r := newFaultRig(t)
	r.drainOnCleanup(t)
	r.start(t)
	r.waitMirrored(t)
	orphaned := harness.NewExampleClaim(r.claims, "orphaned", 1)
	orphaned.SetAnnotations(map[string]string{conflict.AnnotationDeletionPolicy: conflict.DeletionPolicyOrphan})
	create(t, r.app.Client, orphaned)
	r.create(t, "waiting", 1)
	r.waitLocal(t, "orphaned", readyAndSynced)
	r.waitLocal(t, "waiting", readyAndSynced)
	before := r.waitRemote(t, "orphaned", hasResourceRef)

	r.proxy.Cut()
	r.waitReachable(t, false)
	r.waitLocal(t, "orphaned", unreachable)
	r.delete(t, "orphaned")
	r.delete(t, "waiting")
	harness.Eventually(t, waitTimeout, func() error {
		if _, err := r.getLocal("orphaned"); !apierrors.IsNotFound(err) {
			return fmt.Errorf("the Orphan claim is still there while the control plane is away (%v)", err)
		}
		return nil
	})
	checkPendingEvent(t, r, orphaned)
	entry := waitPendingEntry(t, r, "orphaned", true)
	if entry.Why == "" || entry.LocalUID != orphaned.GetUID() {
		t.Errorf("the pending entry %+v does not say why or for which claim (uid %s)", entry, orphaned.GetUID())
	}
	r.waitLocal(t, "waiting", heldForDeletion)

	r.proxy.Restore()
	r.waitRemote(t, "orphaned", func(u *unstructured.Unstructured) error {
		if u.GetUID() != before.GetUID() || !u.GetDeletionTimestamp().IsZero() {
			return fmt.Errorf("the remote claim was replaced or is being deleted (uid %s, was %s)", u.GetUID(), before.GetUID())
		}
		if u.GetLabels()[conflict.LabelClusterID] != "" || u.GetAnnotations()[conflict.AnnotationOrphaned] != sync.OrphanedClaimDeleted {
			return fmt.Errorf("the remote claim is not marked orphaned yet: labels %v, annotations %v", u.GetLabels(), u.GetAnnotations())
		}
		return nil
	})
	waitPendingEntry(t, r, "orphaned", false)
	harness.Eventually(t, waitTimeout, func() error {
		if _, err := r.getLocal("waiting"); !apierrors.IsNotFound(err) {
			return fmt.Errorf("the claim without the annotation is still there after the control plane came back (%v)", err)
		}
		return nil
	})

	// A new local claim of the same name does not attach to the orphan.
	r.create(t, "orphaned", 2)
	r.waitLocal(t, "orphaned", conditionReason(condition.Type, condition.ReasonForeignObject))
	after, err := r.remote("orphaned")
	if err != nil {
		t.Fatalf("the orphaned remote claim is gone: %v", err)
	}
	if n, _, _ := unstructured.NestedInt64(after.Object, "spec", "nodes", "count"); after.GetUID() != before.GetUID() || n != 1 || after.GetLabels()[conflict.LabelClusterID] != "" {
		t.Errorf("the new local claim took the orphan over: uid %s (was %s), count %d, labels %v", after.GetUID(), before.GetUID(), n, after.GetLabels())
	}
	if d := r.audit.unwantedDeletions(); len(d) > 0 {
		t.Errorf("remote claims deleted that no user deleted: %v", d)
	}
}

// checkPendingEvent checks the Event that says what was left behind.
func checkPendingEvent(t *testing.T, r *faultRig, local client.Object) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		for _, e := range eventsIn(t, r.app.Client, local) {
			if e.Reason == sync.EventOrphanPending {
				return nil
			}
		}
		return fmt.Errorf("no %s event on %s", sync.EventOrphanPending, local.GetName())
	})
}

// waitPendingEntry waits until the record of pending orphans holds (or no
// longer holds) the entry of the local claim name, and returns it.
func waitPendingEntry(t *testing.T, r *faultRig, name string, present bool) sync.PendingOrphan {
	t.Helper()
	var got sync.PendingOrphan
	harness.Eventually(t, waitTimeout, func() error {
		cm := &corev1.ConfigMap{}
		err := r.app.Client.Get(context.Background(), client.ObjectKey{Namespace: pendingNamespace, Name: sync.PendingOrphansConfigMap}, cm)
		if client.IgnoreNotFound(err) != nil {
			return err
		}
		entries, bad := sync.DecodePending(cm.Data)
		if len(bad) > 0 {
			return fmt.Errorf("unreadable entries %v", bad)
		}
		remote := sync.RemoteName(r.clusterID, r.claims, name)
		for _, e := range entries {
			if e.Name == remote && e.Namespace == r.namespace {
				got = e
				if present {
					return nil
				}
				return fmt.Errorf("pending entry of %s still there: %+v", name, e)
			}
		}
		if present {
			return fmt.Errorf("no pending entry of %s (remote %s) in %v", name, remote, cm.Data)
		}
		return nil
	})
	return got
}
