package e2e

import (
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// TestDeletedClaimRequests deletes claims whose remote claims the
// connector's cache holds and counts what the connector asks the control
// plane (through the rig's proxy, less the cluster-id Lease's) until the
// local claims are gone: one DELETE a claim and no read. The remote claim is found in the cache, and
// once the cache shows it gone (real Crossplane removed its composite) the
// finalizer goes without a live read across the distance.
func TestDeletedClaimRequests(t *testing.T) {
	const n = 5
	r := newFaultRig(t, "--probe-interval=1h")
	c := r.start(t)
	r.waitMirrored(t)
	r.waitReachable(t, true)
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("gone-%d", i))
		claim := harness.NewExampleClaim(r.claims, names[i], 1)
		unstructured.RemoveNestedField(claim.Object, "spec", "writeConnectionSecretToRef")
		create(t, r.app.Client, claim)
	}
	for _, name := range names {
		// Crossplane's Synced condition comes down through the connector's
		// cache of remote claims: the cache holds the remote claim.
		r.waitLocal(t, name, func(u *unstructured.Unstructured) error {
			if _, ok := harness.GetCondition(u, "Synced"); !ok {
				return fmt.Errorf("no Synced condition copied from the control plane yet")
			}
			return nil
		})
	}
	before := cpRequests(t, c, r)
	for _, name := range names {
		r.delete(t, name)
	}
	for _, name := range names {
		harness.Eventually(t, waitTimeout, func() error {
			u, err := r.getLocal(name)
			if apierrors.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			return fmt.Errorf("claim %s still there (finalizers %v)", name, u.GetFinalizers())
		})
		if _, err := r.remote(name); !apierrors.IsNotFound(err) {
			t.Errorf("claim %s: the local claim is gone but its remote claim is not (%v)", name, err)
		}
	}
	cp := cpRequests(t, c, r).sub(before)
	t.Logf("requests to the control plane for %d deleted claims: %v", n, cp)
	if got := cp["GET"]; got > 0 {
		t.Errorf("control plane: %v reads for %d deleted claims, want none (the cache holds the remote claims)", got, n)
	}
	if got := cp["DELETE"]; got != n {
		t.Errorf("control plane: %v DELETEs for %d deleted claims, want one each", got, n)
	}
	if got := cp["POST"] + cp["PATCH"]; got > 0 {
		t.Errorf("control plane: %v other writes for %d deleted claims (%v), want only the DELETEs", got, n, cp)
	}
}
