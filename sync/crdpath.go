package sync

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// deletedByCRD decides which delete path a claim being deleted takes: true
// when its deletion is the API server's cascade of its CRD's deletion (the
// remote claim is orphaned, to be imported back), false when a user deleted
// it (the normal path: the remote claim is deleted, or orphaned for good
// with the Orphan policy).
//
// The API server stamps deletions to the second, and the CRD's cascade
// deletes its claims after the CRD's own deletion began, so within that same
// second too. A claim whose deletion began strictly before the CRD's second
// was deleted by its user; one stamped at or after it is taken to be the
// cascade's: a user's delete in the same second as the CRD's keeps the
// remote claim (and imports it back) rather than risking a delete of remote
// claims that no user asked for. A CRD already gone gives no time to
// compare, and then the claim keeps its remote claim too.
func deletedByCRD(claimDeleted, crdDeleted *metav1.Time, crdGone bool) bool {
	switch {
	case crdGone:
		return true
	case crdDeleted.IsZero() || claimDeleted.IsZero():
		return false
	}
	return !claimDeleted.Truncate(time.Second).Before(crdDeleted.Truncate(time.Second))
}
