package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/sync/condition"
)

// cacheWait bounds a read from a cache. A cache read waits for its informer
// to sync, which never happens when the connector may not list or watch the
// kind: the read fails after this long instead of holding a worker forever,
// and the claim says why.
const cacheWait = 15 * time.Second

// reconcileTimeout bounds a whole pass over a claim, as a last resort.
const reconcileTimeout = 2 * time.Minute

// errCacheNotSynced: a cache read gave up waiting for its informer.
var errCacheNotSynced = errors.New("the cache did not sync in time: can the connector list and watch it?")

// cacheGet reads obj from a cache within cacheWait.
func cacheGet(ctx context.Context, c client.Reader, key client.ObjectKey, obj client.Object) error {
	return cacheGetWithin(ctx, cacheWait, c, key, obj)
}

func cacheGetWithin(ctx context.Context, wait time.Duration, c client.Reader, key client.ObjectKey, obj client.Object) error {
	cctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	err := c.Get(cctx, key, obj)
	if err != nil && cctx.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("%w (%v)", errCacheNotSynced, err)
	}
	return err
}

// readFailed is the condition for a read that failed for another reason than
// NotFound: Forbidden when the server refused our credentials, else reason
// (SecretFailed for Secrets). what says what was read.
func readFailed(err error, reason, what string) metav1.Condition {
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
		return falseCondition(condition.ReasonForbidden, "not allowed to read "+what+": "+err.Error())
	}
	return falseCondition(reason, "cannot read "+what+": "+err.Error())
}
