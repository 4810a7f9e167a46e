package sync

import (
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync/condition"
)

// The decisions about a push that define the outage and conflict behaviour,
// kept apart from the clients so that they can be tested as tables.

// pushFacts are what decides whether the spec push may happen now.
type pushFacts struct {
	class conflict.Remote
	// adopt: the claim or the connector opted in to taking over foreign remote claims.
	adopt bool
	// remoteDeleting: the remote claim carries a deletion timestamp.
	remoteDeleting bool
	// wasSynced: the local claim was bound to a remote claim before.
	wasSynced bool
	// missingFor is how long the remote claim has been seen missing.
	missingFor time.Duration
	// grace is how long a remote claim deleted by someone else stays gone.
	grace time.Duration
	// recordedUID is the claim uid the remote claim records, named when it
	// is another copy's.
	recordedUID string
}

// pushVerdict is what decidePush decided.
type pushVerdict struct {
	push bool
	// recreate: the push re-creates a remote claim someone else deleted.
	recreate bool
	// reason and message say why not, when push is false.
	reason, message string
	// wait is when to look again, when that is about time (0: on an event).
	wait time.Duration
}

// decidePush stops a push that must not happen: into a foreign remote object,
// into a remote claim being deleted, or re-creating one that someone else
// deleted before its grace period is over. A claim never synced before
// creates its remote claim at once.
func decidePush(f pushFacts) pushVerdict {
	switch {
	case conflict.Push(f.class, f.adopt) == conflict.ActionRefuse:
		reason, msg := f.class.ReasonFor(f.recordedUID)
		return pushVerdict{reason: reason, message: msg, wait: refusedRetry}
	case f.class == conflict.RemoteOurs && f.remoteDeleting:
		return pushVerdict{reason: condition.ReasonRemoteDeleting,
			message: "the remote claim is being deleted in the control plane; it will be re-created from this copy once gone"}
	case f.class != conflict.RemoteAbsent || !f.wasSynced:
		return pushVerdict{push: true}
	case f.missingFor < f.grace:
		return pushVerdict{reason: condition.ReasonRemoteDeleted, wait: f.grace - f.missingFor,
			message: "the remote claim was deleted in the control plane by someone else; it will be re-created from this copy"}
	}
	return pushVerdict{push: true, recreate: true}
}

// wasSynced says whether the local claim was bound to a remote claim before,
// so that a missing remote claim means someone deleted it.
func wasSynced(local *unstructured.Unstructured) bool {
	if _, ok, _ := unstructured.NestedMap(local.Object, "spec", "resourceRef"); ok {
		return true
	}
	c := findCondition(local, condition.Type)
	return c != nil && (c.Reason == condition.ReasonSynced || c.Reason == condition.ReasonRemoteDeleted)
}

// pushFailed decides what a failed push means for the claim: a lost race is
// retried quietly (Reconcile sees it and writes nothing); a claim the control
// plane refuses as invalid is a terminal error, since only a change of the
// claim can fix it; anything else is retried. Both of those report
// PushFailed.
func (r *reconciler) pushFailed(local *unstructured.Unstructured, err error) outcome {
	if lostRace(err) {
		return outcome{err: err}
	}
	if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) {
		c := falseCondition(condition.ReasonPushFailed, "the control plane rejected the claim: "+causeMessage(err))
		return outcome{status: r.keptStatus(local, c), err: reconcile.TerminalError(err)}
	}
	c := falseCondition(condition.ReasonPushFailed, "could not push the claim to the control plane (retrying): "+causeMessage(err))
	return outcome{status: r.keptStatus(local, c), err: err}
}

// causeMessage is the API server's message for err, without our context;
// err's text when it did not come from the API server.
func causeMessage(err error) string {
	var s apierrors.APIStatus
	if errors.As(err, &s) {
		return s.Status().Message
	}
	return err.Error()
}
