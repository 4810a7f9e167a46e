package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// A new claim's remote claim is created while its finalizer is added, not
// after (sync/firstcreate.go). A connector killed right after the create, the
// finalizer in flight or not, leaves a remote claim that the next connector
// adopts: one remote claim, the finalizer on the local claim, Synced.
func TestCreateBesideFinalizer(t *testing.T) {
	r := newFaultRig(t)
	r.drainOnCleanup(t)

	t.Setenv(sync.CrashAtEnv, sync.CrashCreateUnconfirmed)
	armed := r.start(t)
	r.waitMirrored(t)
	r.waitReachable(t, true)
	r.create(t, "crash", 1)
	select {
	case <-armed.Done():
	case <-time.After(convergeTimeout):
		t.Fatalf("the connector armed for %s is still running", sync.CrashCreateUnconfirmed)
	}
	if _, err := armed.Exited(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the armed connector exited with %v, want killed\n%s", err, armed.Tail(20))
	}
	if _, err := r.remote("crash"); err != nil {
		t.Fatalf("after the kill: the remote claim should exist: %v", err)
	}
	t.Setenv(sync.CrashAtEnv, "")
	r.start(t)
	r.waitLocal(t, "crash", all(hasFinalizer, conditionReason(condition.Type, condition.ReasonSynced)))
	if n := r.audit.remoteUIDs("crash"); n != 1 {
		t.Errorf("claim crash: %d remote claims seen, want the one created before the kill", n)
	}

	if _, err := r.remote("crash"); err != nil {
		t.Errorf("claim crash lost its remote claim: %v", err)
	}
}

// Each claim of a batch created and deleted straight away is gone on both
// sides, none leaked. A claim deleted before its finalizer landed has the
// remote claim just created deleted (sync/firstcreate.go, logged as "Claim
// went before its finalizer landed"). So does one whose finalizer did land
// but which a DELETE begun just before the finalizer's PATCH removed all the
// same, with no deleting state in between (the API server's race,
// kubernetes#77988; sync/firstcreate.go's heldTTL, logged as "Claim went with
// our finalizer on it").
func TestClaimsDeletedAtOnce(t *testing.T) {
	r := newFaultRig(t)
	r.drainOnCleanup(t)
	c := r.start(t)
	r.waitMirrored(t)
	r.waitReachable(t, true)
	const n = 30
	start := time.Now()
	for i := range n {
		name := fmt.Sprintf("at-once-%d", i)
		r.create(t, name, 1)
		r.delete(t, name)
	}
	t.Logf("created and deleted %d claims in %s", n, time.Since(start).Round(time.Millisecond))
	if err := harness.Poll(context.Background(), waitTimeout, func() error {
		var left []string
		for i := range n {
			name := fmt.Sprintf("at-once-%d", i)
			if _, err := r.getLocal(name); !apierrors.IsNotFound(err) {
				left = append(left, "local "+name)
			}
			if u, err := r.remote(name); !apierrors.IsNotFound(err) {
				var managers []string
				for _, mf := range u.GetManagedFields() {
					managers = append(managers, mf.Manager+"/"+string(mf.Operation))
				}
				left = append(left, fmt.Sprintf("remote %s (uid %s, %d uids seen, deleting %v, finalizers %v, labels %v, managers %v)",
					name, u.GetUID(), r.audit.remoteUIDs(name), u.GetDeletionTimestamp() != nil, u.GetFinalizers(), u.GetLabels(), managers))
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("%d left: %v", len(left), left)
		}
		return nil
	}); err != nil {
		for _, l := range strings.Split(c.Logs(), "\n") {
			if strings.Contains(l, "at-once") {
				t.Log(l)
			}
		}
		t.Fatal(err)
	}
	created := 0
	for i := range n {
		created += r.audit.remoteUIDs(fmt.Sprintf("at-once-%d", i))
	}
	undone := strings.Count(c.Logs(), `"action":"delete the remote claim just created"`)
	raced := strings.Count(c.Logs(), `"msg":"Claim went with our finalizer on it`)
	t.Logf("%d of %d claims got a remote claim before their delete; %d of those were deleted as unconfirmed creates, %d of them after a delete that raced our finalizer's PATCH",
		created, n, undone, raced)
	if d := r.audit.unwantedDeletions(); len(d) > 0 {
		t.Errorf("remote claims deleted that no user deleted: %v", d)
	}
}
