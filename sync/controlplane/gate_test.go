package controlplane

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/mcp-connector/mcp-connector/sync/condition"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func notified(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestGateSet(t *testing.T) {
	open := GateState{Open: true, Reachable: true, Reason: condition.ReasonReady}
	away := GateState{Reason: condition.ReasonUnreachable, Message: "dial tcp: connection refused"}
	held := GateState{Reachable: true, Reason: condition.ReasonNamespaceHeld}
	type step struct {
		set GateState
		at  time.Duration
	}
	type want struct {
		Open, Reachable, Notified bool
		Reason                    string
		Since, LastContact        time.Duration // after t0; -1: zero time
	}
	cases := map[string]struct {
		reason string
		steps  []step
		want   want
	}{
		"FirstContact": {
			reason: "The first answer opens the gate, moves Since and LastContact, and notifies.",
			steps:  []step{{open, time.Second}},
			want:   want{Open: true, Reachable: true, Notified: true, Reason: condition.ReasonReady, Since: time.Second, LastContact: time.Second},
		},
		"RepeatOnlyMovesLastContact": {
			reason: "A probe that finds nothing new keeps Since, moves LastContact and notifies nobody.",
			steps:  []step{{open, time.Second}, {open, 5 * time.Second}},
			want:   want{Open: true, Reachable: true, Reason: condition.ReasonReady, Since: time.Second, LastContact: 5 * time.Second},
		},
		"OutageKeepsLastContact": {
			reason: "An unreachable control plane keeps the last contact it had; Since is when the outage began.",
			steps:  []step{{open, time.Second}, {away, 3 * time.Second}, {away, 9 * time.Second}},
			want:   want{Reason: condition.ReasonUnreachable, Since: 3 * time.Second, LastContact: time.Second},
		},
		"ReasonChangeNotifies": {
			reason: "Reachable but refused is a change of reason: Since moves and subscribers hear of it.",
			steps:  []step{{open, time.Second}, {held, 2 * time.Second}},
			want:   want{Reachable: true, Notified: true, Reason: condition.ReasonNamespaceHeld, Since: 2 * time.Second, LastContact: 2 * time.Second},
		},
		"NeverReached": {
			reason: "Before any answer there is no last contact.",
			steps:  []step{{away, time.Second}},
			want:   want{Notified: true, Reason: condition.ReasonUnreachable, Since: time.Second, LastContact: -1},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewGate(t0)
			ch := g.Subscribe(t.Context())
			for i, s := range tc.steps {
				if i == len(tc.steps)-1 {
					notified(ch) // only the last step's notification counts
				}
				g.Set(s.set, t0.Add(s.at))
			}
			st := g.State()
			at := func(d time.Duration) time.Time {
				if d < 0 {
					return time.Time{}
				}
				return t0.Add(d)
			}
			got := map[string]any{"open": st.Open, "reachable": st.Reachable, "reason": st.Reason, "since": st.Since,
				"lastContact": st.LastContact, "notified": notified(ch)}
			w := map[string]any{"open": tc.want.Open, "reachable": tc.want.Reachable, "reason": tc.want.Reason,
				"since": at(tc.want.Since), "lastContact": at(tc.want.LastContact), "notified": tc.want.Notified}
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("%s\n-want +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestGateStartsClosed(t *testing.T) {
	s := NewGate(t0).State()
	if s.Open || s.Reachable || s.Reason != condition.ReasonStarting || !s.Since.Equal(t0) {
		t.Errorf("NewGate state = %+v, want closed, unreachable, %s since t0", s, condition.ReasonStarting)
	}
}

func TestGateSubscriptionEndsWithContext(t *testing.T) {
	g := NewGate(t0)
	ctx, cancel := context.WithCancel(context.Background())
	g.Subscribe(ctx)
	kept := g.Subscribe(t.Context())
	if n := g.subscribers(); n != 2 {
		t.Fatalf("subscribers = %d, want 2", n)
	}
	cancel()
	err := wait.PollUntilContextTimeout(t.Context(), time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return g.subscribers() == 1, nil
	})
	if err != nil {
		t.Fatalf("subscribers = %d after the context ended, want 1", g.subscribers())
	}
	g.Set(GateState{Reachable: true, Reason: condition.ReasonForbidden}, t0.Add(time.Second))
	if !notified(kept) {
		t.Error("the remaining subscriber was not notified")
	}
}

func TestStateForError(t *testing.T) {
	gr := schema.GroupResource{Resource: "configmaps"}
	type want struct {
		Reachable bool
		Reason    string
	}
	cases := map[string]struct {
		reason string
		err    error
		want   want
	}{
		"NetworkError": {
			reason: "No answer at all: unreachable, the copies go stale.",
			err:    &net.OpError{Op: "dial", Err: errors.New("connection refused")},
			want:   want{Reason: condition.ReasonUnreachable},
		},
		"Wrapped": {
			reason: "A wrapped API status is still read as the server's answer.",
			err:    errors.Join(errors.New("probe"), apierrors.NewForbidden(gr, "x", errors.New("no"))),
			want:   want{Reachable: true, Reason: condition.ReasonForbidden},
		},
		"Forbidden": {
			reason: "The server answered no to our credentials: reachable, refused.",
			err:    apierrors.NewForbidden(gr, "x", errors.New("no")),
			want:   want{Reachable: true, Reason: condition.ReasonForbidden},
		},
		"Unauthorized": {
			reason: "Revoked credentials are refused credentials.",
			err:    apierrors.NewUnauthorized("token expired"),
			want:   want{Reachable: true, Reason: condition.ReasonForbidden},
		},
		"NamespaceMissing": {
			reason: "The namespace is gone: the server answered, there is nothing to sync into.",
			err:    apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "cp-ns"),
			want:   want{Reachable: true, Reason: condition.ReasonNamespaceUnavailable},
		},
		"NamespaceTerminating": {
			reason: "A create refused because the namespace is being deleted is no credentials problem: the namespace is unusable.",
			err: func() error {
				e := apierrors.NewForbidden(gr, "x", errors.New("namespace cp-ns is being terminated"))
				e.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}
				return e
			}(),
			want: want{Reachable: true, Reason: condition.ReasonNamespaceUnavailable},
		},
		"ServiceUnavailable": {
			reason: "A 503 (an API server starting, etcd away) is an outage, not an answer.",
			err:    apierrors.NewServiceUnavailable("etcd"),
			want:   want{Reason: condition.ReasonUnreachable},
		},
		"Timeout": {
			reason: "A server timeout is an outage.",
			err:    apierrors.NewServerTimeout(gr, "get", 1),
			want:   want{Reason: condition.ReasonUnreachable},
		},
		"InternalError": {
			reason: "A 500 is an outage.",
			err:    apierrors.NewInternalError(errors.New("boom")),
			want:   want{Reason: condition.ReasonUnreachable},
		},
		"TooManyRequests": {
			reason: "Throttled by priority and fairness is an outage for us, not a refusal.",
			err:    apierrors.NewTooManyRequests("slow down", 1),
			want:   want{Reason: condition.ReasonUnreachable},
		},
		"OtherAnswer": {
			reason: "Any other answer: reachable, but the namespace cannot be used.",
			err:    apierrors.NewBadRequest("nope"),
			want:   want{Reachable: true, Reason: condition.ReasonNamespaceUnavailable},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := stateForError(tc.err, "cp-ns")
			got := want{Reachable: s.Reachable, Reason: s.Reason}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nstateForError(%v): -want +got:\n%s", tc.reason, tc.err, diff)
			}
			if s.Open || s.Message == "" {
				t.Errorf("stateForError(%v) = %+v: an error never opens the gate and always says why", tc.err, s)
			}
		})
	}
}

func TestHolderState(t *testing.T) {
	type want struct {
		Decided, Open, Reachable bool
		Reason                   string
	}
	cases := map[string]struct {
		reason   string
		holder   string
		takeover bool
		want     want
	}{
		"Ours": {
			reason: "We hold the namespace: open.",
			holder: "us", want: want{Decided: true, Open: true, Reachable: true, Reason: condition.ReasonReady},
		},
		"Free": {
			reason: "No holder recorded: ours to claim.",
			holder: "", want: want{},
		},
		"HeldByOther": {
			reason: "Another cluster holds it: refused, visibly, without a takeover.",
			holder: "them", want: want{Decided: true, Reachable: true, Reason: condition.ReasonNamespaceHeld},
		},
		"TakeOver": {
			reason: "Another cluster holds it and a takeover was asked for: ours to claim.",
			holder: "them", takeover: true, want: want{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, decided := holderState(tc.holder, "us", "cp-ns", tc.takeover)
			got := want{Decided: decided, Open: s.Open, Reachable: s.Reachable, Reason: s.Reason}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n-want +got:\n%s", tc.reason, diff)
			}
		})
	}
}
