package sync

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// After a blip that failed every claim once, each is retried after the
// first step of its own backoff: no overall bucket spaces the retries of
// many claims (controller-runtime's default: 10 a second after 100).
func TestFailureBackoffHasNoOverallBucket(t *testing.T) {
	rl := failureBackoff()
	for i := range 1000 {
		req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "team-a", Name: fmt.Sprintf("db-%d", i)}}
		if got := rl.When(req); got != failureRetryBase {
			t.Fatalf("first retry of claim %d after %s, want %s", i, got, failureRetryBase)
		}
	}
	req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "db-0"}}
	for range 30 {
		rl.When(req)
	}
	if got := rl.When(req); got != failureRetryMax {
		t.Errorf("a claim that keeps failing waits %s, want the cap %s", got, failureRetryMax)
	}
}
