package sync

import (
	"context"
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/sync/condition"
)

func TestReadFailed(t *testing.T) {
	gr := schema.GroupResource{Resource: "secrets"}
	cases := map[string]struct {
		reason string
		err    error
		want   string
	}{
		"Forbidden":    {reason: "A missing permission says Forbidden, not Synced.", err: apierrors.NewForbidden(gr, "s", errors.New("no")), want: condition.ReasonForbidden},
		"Unauthorized": {reason: "Revoked credentials are refused credentials.", err: apierrors.NewUnauthorized("expired"), want: condition.ReasonForbidden},
		"Other":        {reason: "Any other failure says the given reason.", err: apierrors.NewInternalError(errors.New("etcd")), want: condition.ReasonSecretFailed},
		"NotSynced":    {reason: "A cache that never synced says the given reason.", err: errCacheNotSynced, want: condition.ReasonSecretFailed},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := readFailed(tc.err, condition.ReasonSecretFailed, "the Secret")
			if c.Reason != tc.want || c.Status != "False" || c.Type != condition.Type || c.Message == "" {
				t.Errorf("%s\nreadFailed(%v) = %+v, want False/%s with a message", tc.reason, tc.err, c, tc.want)
			}
		})
	}
}

// blockingReader is a cache whose informer never syncs: Get returns only
// when its context ends.
type blockingReader struct{ client.Reader }

func (blockingReader) Get(ctx context.Context, _ client.ObjectKey, _ client.Object, _ ...client.GetOption) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestCacheGetHasADeadline: a read from a cache that never syncs (no list or
// watch permission) gives up with errCacheNotSynced instead of holding the
// worker; a caller whose own context ended gets that instead.
func TestCacheGetHasADeadline(t *testing.T) {
	err := cacheGetWithin(context.Background(), 50*time.Millisecond, blockingReader{}, client.ObjectKey{Name: "s"}, nil)
	if !errors.Is(err, errCacheNotSynced) {
		t.Errorf("cacheGet on a cache that never syncs = %v, want errCacheNotSynced", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := cacheGetWithin(ctx, 50*time.Millisecond, blockingReader{}, client.ObjectKey{Name: "s"}, nil); errors.Is(err, errCacheNotSynced) || err == nil {
		t.Errorf("cacheGet with an ended context = %v, want the context's error", err)
	}
}
