package sync

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mcp-connector/mcp-connector/conflict"
)

func TestLocalClaimEcho(t *testing.T) {
	base := func() *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"size": "small"}}}
		u.SetNamespace("team-a")
		u.SetName("db")
		u.SetGeneration(1)
		u.SetResourceVersion("10")
		u.SetLabels(map[string]string{"app": "db"})
		u.SetAnnotations(map[string]string{"note": "x"})
		return u
	}
	withFinalizer := func(u *unstructured.Unstructured) *unstructured.Unstructured {
		u.SetFinalizers([]string{conflict.Finalizer})
		return u
	}
	cases := map[string]struct {
		reason string
		old    func() *unstructured.Unstructured
		cur    func() *unstructured.Unstructured
		ours   bool
		want   bool
	}{
		"FinalizerAdded": {
			reason: "Our finalizer PATCH: only the finalizers changed, to a version our write returned.",
			old:    base, cur: func() *unstructured.Unstructured { return withFinalizer(base()) }, ours: true, want: true,
		},
		"StatusWritten": {
			reason: "Our status apply: only the status changed, to a version our write returned.",
			old:    func() *unstructured.Unstructured { return withFinalizer(base()) },
			cur: func() *unstructured.Unstructured {
				u := withFinalizer(base())
				u.Object["status"] = map[string]any{"conditions": []any{}}
				return u
			},
			ours: true, want: true,
		},
		"NotOurVersion": {
			reason: "A version no write of ours returned is someone else's change: it starts a pass.",
			old:    base, cur: func() *unstructured.Unstructured { return withFinalizer(base()) }, ours: false, want: false,
		},
		"SpecChanged": {
			reason: "A new generation (the spec changed) starts a pass even at our version: a relist may have folded a user's change into it.",
			old:    func() *unstructured.Unstructured { return withFinalizer(base()) },
			cur: func() *unstructured.Unstructured {
				u := withFinalizer(base())
				u.SetGeneration(2)
				return u
			},
			ours: true, want: false,
		},
		"LabelChanged": {
			reason: "A label changed: it goes up, so the pass must run.",
			old:    func() *unstructured.Unstructured { return withFinalizer(base()) },
			cur: func() *unstructured.Unstructured {
				u := withFinalizer(base())
				u.SetLabels(map[string]string{"app": "db", "tier": "gold"})
				return u
			},
			ours: true, want: false,
		},
		"AnnotationChanged": {
			reason: "An annotation changed (e.g. the deletion policy): the pass must run.",
			old:    func() *unstructured.Unstructured { return withFinalizer(base()) },
			cur: func() *unstructured.Unstructured {
				u := withFinalizer(base())
				u.SetAnnotations(nil)
				return u
			},
			ours: true, want: false,
		},
		"Deleted": {
			reason: "A deletion timestamp appeared: the delete must be handled.",
			old:    func() *unstructured.Unstructured { return withFinalizer(base()) },
			cur: func() *unstructured.Unstructured {
				u := withFinalizer(base())
				now := metav1.NewTime(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
				u.SetDeletionTimestamp(&now)
				return u
			},
			ours: true, want: false,
		},
		"FinalizerGone": {
			reason: "Our finalizer is missing: the pass puts it back.",
			old:    base,
			cur: func() *unstructured.Unstructured {
				u := base()
				u.Object["status"] = map[string]any{}
				return u
			},
			ours: true, want: false,
		},
	}
	packed := func(t *testing.T, u *unstructured.Unstructured) metav1.Object {
		t.Helper()
		p, err := pack(u)
		if err != nil {
			t.Fatalf("pack: %v", err)
		}
		return p
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, localClaimEcho(tc.old(), tc.cur(), tc.ours)); diff != "" {
				t.Errorf("%s\nlocalClaimEcho(...): -want, +got:\n%s", tc.reason, diff)
			}
			// The caches hold claims packed: the same answer from them.
			if diff := cmp.Diff(tc.want, localClaimEcho(packed(t, tc.old()), packed(t, tc.cur()), tc.ours)); diff != "" {
				t.Errorf("%s\nlocalClaimEcho(packed...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// BenchmarkLocalClaimEcho is the echo filter's cost on each update event of
// a local claim the caches hold packed, with managedFields as a status
// write leaves them.
func BenchmarkLocalClaimEcho(b *testing.B) {
	claim := func() *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"size": "small"}}}
		u.SetNamespace("team-a")
		u.SetName("db")
		u.SetGeneration(1)
		u.SetLabels(map[string]string{"app": "db"})
		u.SetAnnotations(map[string]string{"note": "x"})
		u.SetFinalizers([]string{conflict.Finalizer})
		u.SetManagedFields([]metav1.ManagedFieldsEntry{
			{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "example.org/v1", FieldsType: "FieldsV1",
				FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:size":{}}}`)}},
			{Manager: "mcp-connector", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "example.org/v1", FieldsType: "FieldsV1", Subresource: "status",
				FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:status":{"f:conditions":{"k:{\"type\":\"ControlPlaneSynced\"}":{".":{},"f:reason":{},"f:status":{},"f:type":{}}}}}`)}},
		})
		return u
	}
	old, err := pack(claim())
	if err != nil {
		b.Fatal(err)
	}
	cur, err := pack(claim())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !localClaimEcho(old, cur, true) {
			b.Fatal("not an echo")
		}
	}
}

func TestCreatedEcho(t *testing.T) {
	obj := func(uid, rv string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{}}
		u.SetUID(types.UID("uid-" + uid))
		u.SetResourceVersion(rv)
		return u
	}
	cases := map[string]struct {
		reason  string
		obj     metav1.Object
		created metav1.Object
		want    bool
	}{
		"Ours":      {reason: "The object as our create returned it.", obj: obj("a", "5"), created: obj("a", "5"), want: true},
		"Changed":   {reason: "Changed since our create (Crossplane wrote it): a pass.", obj: obj("a", "6"), created: obj("a", "5"), want: false},
		"Recreated": {reason: "Another object of that name.", obj: obj("b", "5"), created: obj("a", "5"), want: false},
		"NotOurs":   {reason: "Nothing created by us.", obj: obj("a", "5"), created: nil, want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, createdEcho(tc.obj, tc.created)); diff != "" {
				t.Errorf("%s\ncreatedEcho(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestEchoesTakeOnceWithinTTL(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	e := &echoes{now: func() time.Time { return now }}
	e.add("claim/a/b", "1")
	e.add("claim/a/b", "2")
	if e.take("claim/a/b", "0", "3") {
		t.Error("take: a version no write returned, from one no write was made on, is not an echo")
	}
	if !e.take("claim/a/b", "1", "2") {
		t.Error("take: the second write's version is an echo")
	}
	if e.take("claim/a/b", "1", "2") {
		t.Error("take: an echo is dropped once")
	}
	if !e.take("claim/a/b", "0", "1") {
		t.Error("take: the first write's version is still an echo")
	}
	// The event before the answer: known by the version the write was made on.
	e.expect("claim/a/b", "7")
	if !e.take("claim/a/b", "7", "8") {
		t.Error("take: an event from the version a write in flight was made on is its echo")
	}
	if e.take("claim/a/b", "7", "9") {
		t.Error("take: that expectation is used once")
	}
	e.expect("claim/a/b", "10")
	e.unexpect("claim/a/b", "10")
	if e.take("claim/a/b", "10", "11") {
		t.Error("take: the expectation of a failed write is forgotten")
	}
	e.add("claim/a/b", "4")
	now = now.Add(echoTTL + time.Second)
	if e.take("claim/a/b", "3", "4") {
		t.Error("take: a version older than the TTL is forgotten")
	}
	e.forgetExpired()
	if _, ok := e.m.Load("claim/a/b"); ok {
		t.Error("forgetExpired: an expired entry stays")
	}
	for i := range 2 * maxEchoes {
		e.add("claim/a/c", string(rune('a'+i)))
	}
	v, _ := e.m.Load("claim/a/c")
	if got := len(v.(*echoEntry).versions); got != maxEchoes {
		t.Errorf("add keeps %d versions of a key, want %d", got, maxEchoes)
	}
}
