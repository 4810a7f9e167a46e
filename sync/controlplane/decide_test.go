package controlplane

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mcp-connector/mcp-connector/sync/condition"
)

func TestJudgeRecord(t *testing.T) {
	held := Record{Namespace: "cp-ns", HolderUID: "uid-1"}
	cases := map[string]struct {
		reason string
		rec    Record
		holder string // uid of the holder record naming us; "" when missing
		want   recordVerdict
	}{
		"FirstInstall": {
			reason: "No record and no holder: the first install claims the namespace (and creates it).",
			want:   verdictClaim,
		},
		"OtherNamespaceRecorded": {
			reason: "A record of another namespace says nothing about this one: claim it.",
			rec:    Record{Namespace: "old-ns", HolderUID: "uid-0"}, want: verdictClaim,
		},
		"HeldAndGone": {
			reason: "This cluster held the namespace and its holder record is gone: deleted on purpose, stop.",
			rec:    held, want: verdictDeleted,
		},
		"HeldAndSame": {
			reason: "The holder record is the one this cluster holds: open, nothing to write.",
			rec:    held, holder: "uid-1", want: verdictOpen,
		},
		"HeldAndReplaced": {
			reason: "A holder record naming us that this cluster did not write (the namespace re-created from Git): stop.",
			rec:    held, holder: "uid-2", want: verdictDeleted,
		},
		"OursNotRecorded": {
			reason: "A holder of ours and no record (an earlier version, a crash before the record, install reset it): record it.",
			holder: "uid-1", want: verdictRecord,
		},
		"RecordWithoutUID": {
			reason: "A record without a uid is no proof of holding: record the holder.",
			rec:    Record{Namespace: "cp-ns"}, holder: "uid-1", want: verdictRecord,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := judgeRecord(tc.rec, "cp-ns", typesUID(tc.holder)); got != tc.want {
				t.Errorf("%s\njudgeRecord(%+v, %q) = %v, want %v", tc.reason, tc.rec, tc.holder, got, tc.want)
			}
		})
	}
}

func TestNamespaceDeletedState(t *testing.T) {
	for name, uid := range map[string]string{"Missing": "", "Replaced": "uid-2"} {
		t.Run(name, func(t *testing.T) {
			s := namespaceDeletedState("cp-ns", typesUID(uid))
			if s.Open || !s.Reachable || s.Reason != condition.ReasonNamespaceDeleted {
				t.Errorf("state = %+v, want closed, reachable, %s", s, condition.ReasonNamespaceDeleted)
			}
			if !strings.Contains(s.Message, "mcp-connector install") || !strings.Contains(s.Message, "cp-ns") {
				t.Errorf("message does not say what to do: %s", s.Message)
			}
		})
	}
}

func TestLeaseState(t *testing.T) {
	gr := schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}
	type want struct {
		OK, Reachable bool
		Reason        string
		Mentions      string
	}
	cases := map[string]struct {
		reason string
		view   leaseView
		want   want
	}{
		"Holding": {
			reason: "This process holds the Lease: it may sync.",
			view:   leaseView{Holding: true, Holder: "me"},
			want:   want{OK: true},
		},
		"HeldByOther": {
			reason: "Another live connector with our cluster id holds it: refused, naming it and the fix.",
			view:   leaseView{Holder: "host-b_1234"},
			want:   want{Reachable: true, Reason: condition.ReasonClusterIDInUse, Mentions: "host-b_1234"},
		},
		"Forbidden": {
			reason: "The credentials may not use Leases: Forbidden, saying which permission is missing.",
			view:   leaseView{Err: apierrors.NewForbidden(gr, "x", errors.New("no"))},
			want:   want{Reachable: true, Reason: condition.ReasonForbidden, Mentions: "coordination.k8s.io leases"},
		},
		"ForbiddenWhileOtherSeen": {
			reason: "A refusal of our credentials wins over a holder seen earlier.",
			view:   leaseView{Holder: "host-b_1234", Err: apierrors.NewForbidden(gr, "x", errors.New("no"))},
			want:   want{Reachable: true, Reason: condition.ReasonForbidden, Mentions: "leases"},
		},
		"NetworkError": {
			reason: "No answer: unreachable.",
			view:   leaseView{Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}},
			want:   want{Reason: condition.ReasonUnreachable},
		},
		"NotYet": {
			reason: "Nothing seen yet: acquiring.",
			view:   leaseView{},
			want:   want{Reachable: true, Reason: condition.ReasonStarting, Mentions: "acquiring"},
		},
		"OurOldRecord": {
			reason: "The Lease still names this process (lost, being re-acquired): not another connector.",
			view:   leaseView{Holder: "me"},
			want:   want{Reachable: true, Reason: condition.ReasonStarting},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, ok := leaseState(tc.view, "me", "mcp-connector-abc", "cp-ns", "id-1")
			got := want{OK: ok, Reachable: s.Reachable, Reason: s.Reason, Mentions: tc.want.Mentions}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n-want +got:\n%s", tc.reason, diff)
			}
			if !strings.Contains(s.Message, tc.want.Mentions) {
				t.Errorf("message %q does not mention %q", s.Message, tc.want.Mentions)
			}
			if s.Open {
				t.Errorf("leaseState never opens the gate itself: %+v", s)
			}
		})
	}
}

func TestLeaseName(t *testing.T) {
	a, b := LeaseName("3f2c1a"), LeaseName("3f2c1b")
	if a == b || a != LeaseName("3f2c1a") {
		t.Errorf("LeaseName must be stable per cluster id and differ between ids: %s, %s", a, b)
	}
	if long := LeaseName(strings.Repeat("x", 63)); len(long) > 63 {
		t.Errorf("LeaseName(63 chars) = %q, longer than a name may be", long)
	}
}

func typesUID(s string) types.UID { return types.UID(s) }
