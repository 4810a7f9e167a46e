package e2e

import (
	"context"
	"fmt"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// While the control-plane API server is down, the app cluster keeps working:
// nothing is deleted, last-known status stays, local creates, updates and
// deletes are accepted; after it is back, everything converges.
func TestControlPlaneOutage(t *testing.T) {
	sharedConnector(t)
	ctx := context.Background()
	ns := harness.NewNamespace(t, world.App.Client)
	kept, changed, deleted := harness.NewExampleClaim(ns, "kept", 1), harness.NewExampleClaim(ns, "changed", 1), harness.NewExampleClaim(ns, "deleted", 1)
	for _, c := range []*unstructured.Unstructured{kept, changed, deleted} {
		create(t, world.App.Client, c)
		waitLocal(t, c, readyAndSynced)
	}
	keptRemote := waitRemote(t, kept, hasResourceRef)

	if err := world.ControlPlane.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	restart := func() {
		if !restarted {
			restarted = true
			if err := world.ControlPlane.StartAPIServer(); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(restart)

	waitConnection(t, func(status map[string]any) error {
		if r, _, _ := unstructured.NestedBool(status, "controlPlane", "reachable"); r {
			return fmt.Errorf("Connection still says the control plane is reachable")
		}
		return nil
	})
	// Last-known status stays; our condition says why it is not in sync.
	waitLocal(t, kept, func(u *unstructured.Unstructured) error {
		if err := harness.CheckCondition(u, "Ready", "True"); err != nil {
			return fmt.Errorf("last-known Ready lost: %w", err)
		}
		return conditionReason(condition.Type, condition.ReasonUnreachable)(u)
	})
	// Local writes are accepted.
	created := harness.NewExampleClaim(ns, "created", 2)
	create(t, world.App.Client, created)
	if err := world.App.Client.Patch(ctx, changed, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"nodes":{"count":4}}}`))); err != nil {
		t.Fatalf("update during the outage: %v", err)
	}
	if err := world.App.Client.Delete(ctx, deleted); err != nil {
		t.Fatalf("delete during the outage: %v", err)
	}
	// Every claim said Unreachable before these writes: our condition written
	// for the generation each write made shows the connector took it in (a
	// delete bumps the generation too), and holds the deletion.
	waitLocal(t, changed, all(unreachable, sawGeneration))
	waitLocal(t, deleted, heldForDeletion)
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := world.App.Client.Get(ctx, client.ObjectKey{Name: harness.ExampleClaimCRDName}, crd); err != nil {
		t.Fatalf("the mirrored CRD is gone during the outage: %v", err)
	}
	waitConnection(t, func(status map[string]any) error {
		return apiState(status, harness.ExampleClaimCRDName, connection.StateMirrored)
	})

	restart()
	waitLocal(t, created, readyAndSynced)
	waitRemote(t, changed, func(r *unstructured.Unstructured) error {
		if n, _, _ := unstructured.NestedInt64(r.Object, "spec", "nodes", "count"); n != 4 {
			return fmt.Errorf("remote count %d, want 4", n)
		}
		return nil
	})
	waitRemoteGone(t, deleted)
	waitLocalGone(t, deleted)
	waitLocal(t, kept, readyAndSynced)
	if r, err := remoteOf(ctx, kept); err != nil {
		t.Errorf("the remote claim of an untouched local claim is gone after the outage: %v", err)
	} else if r.GetUID() != keptRemote.GetUID() {
		t.Errorf("the remote claim of an untouched local claim was replaced during the outage: uid %s, was %s", r.GetUID(), keptRemote.GetUID())
	}
}
