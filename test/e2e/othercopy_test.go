package e2e

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// Two app clusters with one cluster id (a restored or cloned cluster keeps
// the kube-system uid) sync into one namespace. The remote claim that one of
// them pushed records its claim's uid; the other's claim of the same
// namespace and name is refused (OwnedByOtherCopy), never writes to that
// remote claim, and deleting it leaves the remote claim where it is.
func TestOtherCopyOfClaimRefused(t *testing.T) {
	sharedConnector(t)
	ctx := context.Background()
	ns := harness.NewNamespace(t, world.App.Client)
	local := harness.NewExampleClaim(ns, "cloned", 2)
	// The clone's remote claim: as the clone's connector pushed it, marks and
	// all, with its own claim's uid.
	const cloneUID = "0e5c1a2e-0000-4000-8000-00000000c10e"
	origin := conflict.Origin{ClusterID: sharedClusterID, Namespace: ns, Name: "cloned", UID: cloneUID}
	theirs := harness.NewExampleClaim(sharedNamespace, sync.RemoteName(sharedClusterID, ns, "cloned"), 5)
	unstructured.RemoveNestedField(theirs.Object, "spec", "writeConnectionSecretToRef")
	theirs.SetLabels(origin.Labels())
	theirs.SetAnnotations(origin.Annotations())
	create(t, world.ControlPlane.Client, theirs)
	t.Cleanup(func() { _ = world.ControlPlane.Client.Delete(context.Background(), theirs) })
	bound := waitRemote(t, local, hasResourceRef)

	create(t, world.App.Client, local)
	got := waitLocal(t, local, conditionReason(condition.Type, condition.ReasonOwnedByOtherCopy))
	if c, _ := harness.GetCondition(got, condition.Type); !strings.Contains(c.Message, cloneUID) || !strings.Contains(c.Message, conflict.AnnotationAdopt+"=true") {
		t.Errorf("the condition must name the uid the remote claim records and the way out: %q", c.Message)
	}
	waitEvent(t, got, condition.ReasonOwnedByOtherCopy)
	checkUntouched(t, local, bound)

	// Deleting our claim must not delete theirs.
	if err := world.App.Client.Delete(ctx, local); err != nil {
		t.Fatal(err)
	}
	waitLocalGone(t, local.DeepCopy())
	checkUntouched(t, local, bound)
}

// checkUntouched checks that the remote claim of local is still what was
// shows (same uid, not being deleted, same pushed spec and marks) and that the
// connector never wrote to it.
func checkUntouched(t *testing.T, local, was *unstructured.Unstructured) {
	t.Helper()
	r, err := remoteOf(context.Background(), local)
	if err != nil {
		t.Fatalf("the remote claim is gone: %v", err)
	}
	if r.GetUID() != was.GetUID() || r.GetDeletionTimestamp() != nil {
		t.Errorf("the remote claim was replaced or is being deleted: uid %s (was %s), deleting %v", r.GetUID(), was.GetUID(), r.GetDeletionTimestamp())
	}
	// Crossplane keeps adding its own fields (compositionRef, revisions):
	// compare what a push would write.
	for _, path := range [][]string{{"spec", "nodes"}, {"spec", "writeConnectionSecretToRef"}} {
		want, _, _ := unstructured.NestedFieldNoCopy(was.Object, path...)
		got, _, _ := unstructured.NestedFieldNoCopy(r.Object, path...)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("the remote %v changed (-was +now):\n%s", path, diff)
		}
	}
	for what, m := range map[string][2]map[string]string{"labels": {was.GetLabels(), r.GetLabels()}, "annotations": {was.GetAnnotations(), r.GetAnnotations()}} {
		if !maps.Equal(m[0], m[1]) {
			t.Errorf("the remote %s changed: %v, was %v", what, m[1], m[0])
		}
	}
	for _, mf := range r.GetManagedFields() {
		if mf.Manager == sync.FieldManagerUp {
			t.Errorf("the connector wrote to the remote claim: managed fields of %s (%s)", mf.Manager, mf.Operation)
		}
	}
}
