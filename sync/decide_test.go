package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync/condition"
)

func TestDecidePush(t *testing.T) {
	const grace = 30 * time.Second
	cases := map[string]struct {
		reason string
		facts  pushFacts
		want   pushVerdict
	}{
		"NeverSynced": {
			reason: "A claim never synced before creates its remote claim at once.",
			facts:  pushFacts{class: conflict.RemoteAbsent, grace: grace},
			want:   pushVerdict{push: true},
		},
		"Ours": {
			reason: "Our own remote claim is pushed to.",
			facts:  pushFacts{class: conflict.RemoteOurs, wasSynced: true, grace: grace},
			want:   pushVerdict{push: true},
		},
		"DeletedWithinGrace": {
			reason: "A remote claim someone deleted is not re-created before the grace period is over; look again when it is.",
			facts:  pushFacts{class: conflict.RemoteAbsent, wasSynced: true, missingFor: 10 * time.Second, grace: grace},
			want:   pushVerdict{reason: condition.ReasonRemoteDeleted, wait: 20 * time.Second},
		},
		"DeletedJustSeen": {
			reason: "Seen missing for the first time: the whole grace period is still to come.",
			facts:  pushFacts{class: conflict.RemoteAbsent, wasSynced: true, grace: grace},
			want:   pushVerdict{reason: condition.ReasonRemoteDeleted, wait: grace},
		},
		"DeletedGraceOver": {
			reason: "Once the grace period is over, the remote claim is re-created, and that is announced.",
			facts:  pushFacts{class: conflict.RemoteAbsent, wasSynced: true, missingFor: grace, grace: grace},
			want:   pushVerdict{push: true, recreate: true},
		},
		"DeletedNoGrace": {
			reason: "Without a grace period a deleted remote claim is re-created at once.",
			facts:  pushFacts{class: conflict.RemoteAbsent, wasSynced: true},
			want:   pushVerdict{push: true, recreate: true},
		},
		"RemoteDeleting": {
			reason: "Our remote claim being deleted is left to finish; its removal raises an event.",
			facts:  pushFacts{class: conflict.RemoteOurs, wasSynced: true, remoteDeleting: true, grace: grace},
			want:   pushVerdict{reason: condition.ReasonRemoteDeleting},
		},
		"Foreign": {
			reason: "A foreign remote object is never pushed to; its removal raises no event, so look again later.",
			facts:  pushFacts{class: conflict.RemoteUnmarked, wasSynced: true, grace: grace},
			want:   pushVerdict{reason: condition.ReasonForeignObject, wait: refusedRetry},
		},
		"ForeignDeleting": {
			reason: "A foreign remote object is refused even while it is being deleted.",
			facts:  pushFacts{class: conflict.RemoteUnmarked, remoteDeleting: true},
			want:   pushVerdict{reason: condition.ReasonForeignObject, wait: refusedRetry},
		},
		"OtherClusterAdopt": {
			reason: "Another cluster's claim is taken over on opt-in.",
			facts:  pushFacts{class: conflict.RemoteOtherCluster, adopt: true},
			want:   pushVerdict{push: true},
		},
		"OtherClaimAdopt": {
			reason: "Another claim of ours is refused even with adopt.",
			facts:  pushFacts{class: conflict.RemoteOtherClaim, adopt: true},
			want:   pushVerdict{reason: condition.ReasonNameCollision, wait: refusedRetry},
		},
		"OtherCopy": {
			reason: "Another copy's remote claim (a cloned cluster) is refused, whatever the claim's history.",
			facts:  pushFacts{class: conflict.RemoteOtherCopy, wasSynced: true, recordedUID: "uid-2", grace: grace},
			want:   pushVerdict{reason: condition.ReasonOwnedByOtherCopy, wait: refusedRetry},
		},
		"OtherCopyAdopt": {
			reason: "Another copy's remote claim is taken over on opt-in.",
			facts:  pushFacts{class: conflict.RemoteOtherCopy, adopt: true, recordedUID: "uid-2"},
			want:   pushVerdict{push: true},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := decidePush(tc.facts)
			if tc.facts.class == conflict.RemoteOtherCopy && !got.push && !strings.Contains(got.message, tc.facts.recordedUID) {
				t.Errorf("%s\nthe refusal must name the uid the remote claim records (%s): %q", tc.reason, tc.facts.recordedUID, got.message)
			}
			if !got.push && got.message == "" {
				t.Errorf("%s\na refused push must say why: %+v", tc.reason, got)
			}
			got.message = ""
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(pushVerdict{})); diff != "" {
				t.Errorf("%s\ndecidePush(%+v): -want, +got:\n%s", tc.reason, tc.facts, diff)
			}
		})
	}
}

func TestPushFailed(t *testing.T) {
	gr := schema.GroupResource{Group: "k8s.starter.org", Resource: "kubernetesclusters"}
	type result struct {
		Terminal, Quiet bool
		Reason          string // of ControlPlaneSynced in the status to write; "" for none
		Cause           bool   // the push error is still in the returned error
	}
	cases := map[string]struct {
		reason string
		err    error
		want   result
	}{
		"Invalid": {
			reason: "A claim the control plane finds invalid cannot be fixed by a retry: terminal, reported.",
			err:    apierrors.NewInvalid(schema.GroupKind{Group: gr.Group, Kind: "KubernetesCluster"}, "x", field.ErrorList{field.Required(field.NewPath("spec", "nodes"), "")}),
			want:   result{Terminal: true, Reason: condition.ReasonPushFailed, Cause: true},
		},
		"BadRequest": {
			reason: "A bad request is terminal too.",
			err:    apierrors.NewBadRequest("no"),
			want:   result{Terminal: true, Reason: condition.ReasonPushFailed, Cause: true},
		},
		"Conflict": {
			reason: "A lost race is retried quietly: no condition.",
			err:    apierrors.NewConflict(gr, "x", errors.New("changed")),
			want:   result{Quiet: true, Cause: true},
		},
		"WrappedConflict": {
			reason: "A lost race is recognised through our wrapping.",
			err:    fmt.Errorf("apply claim x: %w", apierrors.NewConflict(gr, "x", errors.New("changed"))),
			want:   result{Quiet: true, Cause: true},
		},
		"Unavailable": {
			reason: "A control plane that fails for a moment is retried, and the claim says so.",
			err:    apierrors.NewServiceUnavailable("busy"),
			want:   result{Reason: condition.ReasonPushFailed, Cause: true},
		},
		"Timeout": {
			reason: "A transport error is retried, and the claim says so.",
			err:    fmt.Errorf("apply claim x: %w", context.DeadlineExceeded),
			want:   result{Reason: condition.ReasonPushFailed, Cause: true},
		},
		"WrappedInvalid": {
			reason: "An invalid claim is recognised through our wrapping.",
			err:    fmt.Errorf("apply claim x: %w", apierrors.NewBadRequest("no")),
			want:   result{Terminal: true, Reason: condition.ReasonPushFailed, Cause: true},
		},
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	r := &reconciler{now: func() time.Time { return now }}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			local := &unstructured.Unstructured{Object: map[string]any{}}
			out := r.pushFailed(local, tc.err)
			got := result{Terminal: errors.Is(out.err, reconcile.TerminalError(nil)), Quiet: lostRace(out.err), Cause: errors.Is(out.err, tc.err)}
			if out.status != nil {
				if c := findCondition(&unstructured.Unstructured{Object: map[string]any{"status": out.status}}, condition.Type); c != nil {
					got.Reason = c.Reason
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\npushFailed(%v): -want, +got:\n%s", tc.reason, tc.err, diff)
			}
		})
	}
}

func TestAnnounced(t *testing.T) {
	cond := func(reason string) *metav1.Condition { return &metav1.Condition{Type: condition.Type, Reason: reason} }
	cases := map[string]struct {
		reason        string
		before, after *metav1.Condition
		want          bool
	}{
		"PushFailed":      {reason: "A rejected claim is announced once, when the condition turns to it.", before: cond(condition.ReasonSynced), after: cond(condition.ReasonPushFailed), want: true},
		"FirstPushFailed": {reason: "Also on a claim without a condition yet.", after: cond(condition.ReasonPushFailed), want: true},
		"StillFailing":    {reason: "The same reason again is no news.", before: cond(condition.ReasonPushFailed), after: cond(condition.ReasonPushFailed), want: false},
		"Foreign":         {reason: "A conflict is announced.", before: cond(condition.ReasonSynced), after: cond(condition.ReasonForeignObject), want: true},
		"RemoteDeleted":   {reason: "Someone deleting the remote claim is announced.", before: cond(condition.ReasonSynced), after: cond(condition.ReasonRemoteDeleted), want: true},
		"Synced":          {reason: "Good news raises no Warning.", before: cond(condition.ReasonPushFailed), after: cond(condition.ReasonSynced), want: false},
		"Outage":          {reason: "An outage is the Connection's to report, not each claim's.", before: cond(condition.ReasonSynced), after: cond(condition.ReasonUnreachable), want: false},
		"Deleting":        {reason: "A deletion the user asked for raises no Warning.", before: cond(condition.ReasonSynced), after: cond(condition.ReasonDeleting), want: false},
		"None":            {reason: "No condition, no Event.", before: cond(condition.ReasonSynced), want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, announced(tc.before, tc.after)); diff != "" {
				t.Errorf("%s\nannounced: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestConditionChanged(t *testing.T) {
	c := func(status metav1.ConditionStatus, reason, msg string) *metav1.Condition {
		return &metav1.Condition{Type: condition.Type, Status: status, Reason: reason, Message: msg}
	}
	cases := map[string]struct {
		reason        string
		before, after *metav1.Condition
		want          bool
	}{
		"Same":       {reason: "Nothing changed.", before: c("True", condition.ReasonSynced, "a"), after: c("True", condition.ReasonSynced, "a"), want: false},
		"Message":    {reason: "A new message alone moves no claim between counts.", before: c("False", condition.ReasonPushFailed, "a"), after: c("False", condition.ReasonPushFailed, "b"), want: false},
		"Reason":     {reason: "A new reason does.", before: c("False", condition.ReasonUnreachable, ""), after: c("False", condition.ReasonPushFailed, ""), want: true},
		"Status":     {reason: "A new status does.", before: c("False", condition.ReasonSynced, ""), after: c("True", condition.ReasonSynced, ""), want: true},
		"First":      {reason: "A first condition does.", after: c("True", condition.ReasonSynced, ""), want: true},
		"NeitherOne": {reason: "No condition before or after.", want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, conditionChanged(tc.before, tc.after)); diff != "" {
				t.Errorf("%s\nconditionChanged: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
