package controlplane

import (
	"context"
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// An election started again after the control plane came back must not
// report the error of the release that failed while it was away: the
// Monitor would keep the gate closed for one more probe on it.
func TestLeaseEnsureForgetsTheLastElectionsError(t *testing.T) {
	l := &ClusterLease{Namespace: "team-a", Name: "mcp-connector-0123456789", Identity: "me"}
	l.lock = &countingLock{Interface: &resourcelock.LeaseLock{LeaseMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "x"}}}
	l.lock.setErr(errors.New("dial tcp 127.0.0.1:6443: connect: connection refused"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the election itself ends at once: only the view matters here
	if err := l.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	l.Wait()
	if err := l.view().Err; err != nil {
		t.Errorf("a new election reports the last one's error %q", err)
	}
}
