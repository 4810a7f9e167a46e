package sync

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/sync/controlplane"
)

var pendingGVK = schema.GroupVersionKind{Group: "example.org", Version: "v1", Kind: "KubernetesCluster"}

func pendingEntry() PendingOrphan {
	cfg := Config{ClusterID: "app-1", Namespace: "team-a-cp"}
	return NewPendingOrphan(cfg, pendingGVK, "team-a", "db", "local-uid", time.Date(2026, 12, 1, 12, 0, 0, 500, time.UTC), "ControlPlaneUnreachable: dial tcp: refused")
}

func TestPendingRoundTrip(t *testing.T) {
	p := pendingEntry()
	if want := RemoteName("app-1", "team-a", "db"); p.Name != want {
		t.Errorf("remote name %q, want %q", p.Name, want)
	}
	if !regexp.MustCompile(`^[-._a-zA-Z0-9]{1,253}$`).MatchString(p.Key()) {
		t.Errorf("key %q is not a valid ConfigMap key", p.Key())
	}
	v, err := EncodePending(p)
	if err != nil {
		t.Fatal(err)
	}
	got, bad := DecodePending(map[string]string{p.Key(): v})
	if diff := cmp.Diff([]PendingOrphan{p}, got); diff != "" || len(bad) > 0 {
		t.Errorf("DecodePending(EncodePending(p)): -want +got:\n%s\nbad: %v", diff, bad)
	}
}

func TestPendingKeysDiffer(t *testing.T) {
	p := pendingEntry()
	others := map[string]func(*PendingOrphan){
		"cluster":   func(o *PendingOrphan) { o.ClusterID = "app-2" },
		"namespace": func(o *PendingOrphan) { o.Namespace = "other-cp" },
		"group":     func(o *PendingOrphan) { o.Group = "other.org" },
		"kind":      func(o *PendingOrphan) { o.Kind = "Database" },
	}
	for name, change := range others {
		o := p
		change(&o)
		if o.Key() == p.Key() {
			t.Errorf("another %s shares the key %q", name, p.Key())
		}
	}
	o := p
	o.Version, o.UID, o.Since, o.Why = "v2", "x", time.Now(), "other"
	if o.Key() != p.Key() {
		t.Errorf("the key changed with the version, uid, time or reason: %q, was %q", o.Key(), p.Key())
	}
}

func TestDecodePendingRefusesBadEntries(t *testing.T) {
	p := pendingEntry()
	good, _ := EncodePending(p)
	moved := p
	moved.Name = "other-name"
	movedV, _ := EncodePending(moved)
	cases := map[string]struct {
		reason string
		data   map[string]string
		want   []PendingOrphan
		bad    []string
	}{
		"Empty":      {reason: "No record, no entries.", data: nil},
		"Good":       {reason: "A well-formed entry is read.", data: map[string]string{p.Key(): good}, want: []PendingOrphan{p}},
		"NotJSON":    {reason: "A value that is not JSON is refused.", data: map[string]string{p.Key(): "{"}, bad: []string{p.Key()}},
		"WrongKey":   {reason: "An entry under another key than its own was edited by hand: never acted on.", data: map[string]string{p.Key(): movedV}, bad: []string{p.Key()}},
		"NoName":     {reason: "An entry without a remote name is refused.", data: map[string]string{"x": `{"kind":"K"}`}, bad: []string{"x"}},
		"GoodAndBad": {reason: "One bad entry does not hide the good ones.", data: map[string]string{p.Key(): good, "a": "x"}, want: []PendingOrphan{p}, bad: []string{"a"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, bad := DecodePending(tc.data)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nentries: -want +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.bad, bad); diff != "" {
				t.Errorf("%s\nbad: -want +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestPendingOf(t *testing.T) {
	p := pendingEntry()
	otherCluster, otherNS, otherKind, otherVersion := p, p, p, p
	otherCluster.ClusterID = "app-2"
	otherNS.Namespace = "x"
	otherKind.Kind = "Database"
	otherVersion.Version = "v2"
	cfg := Config{ClusterID: "app-1", Namespace: "team-a-cp"}
	got := PendingOf([]PendingOrphan{p, otherCluster, otherNS, otherKind, otherVersion}, cfg, pendingGVK)
	if diff := cmp.Diff([]PendingOrphan{p, otherVersion}, got); diff != "" {
		t.Errorf("PendingOf: only this cluster's, namespace's and kind's (any version): -want +got:\n%s", diff)
	}
}

func TestDecidePending(t *testing.T) {
	p := pendingEntry()
	withUID := p
	withUID.UID = "remote-1"
	ours := func() (map[string]string, map[string]string) {
		return p.Origin().Labels(), p.Origin().Annotations()
	}
	l, a := ours()
	orphanedLabels := map[string]string{conflict.LabelClaimNamespace: "team-a"}
	orphanedAnn := map[string]string{conflict.AnnotationClusterID: "app-1", conflict.AnnotationClaimNamespace: "team-a",
		conflict.AnnotationClaimName: "db", conflict.AnnotationOrphaned: OrphanedClaimDeleted}
	newClaimAnn := p.Origin().Annotations()
	newClaimAnn[conflict.AnnotationClaimUID] = "new-local-uid"
	noUIDAnn := p.Origin().Annotations()
	delete(noUIDAnn, conflict.AnnotationClaimUID)
	otherCluster := p.Origin()
	otherCluster.ClusterID = "app-2"
	cases := map[string]struct {
		reason string
		p      PendingOrphan
		r      RemoteFacts
		want   PendingAction
	}{
		"Gone": {reason: "A remote claim that is gone needs nothing.",
			p: p, r: RemoteFacts{}, want: PendingDrop},
		"OursUIDUnknown": {reason: "Still marked as this claim's, uid not recorded: orphan it.",
			p: p, r: RemoteFacts{Exists: true, UID: "remote-1", Labels: l, Annotations: a}, want: PendingOrphanIt},
		"OursSameUID": {reason: "The very remote claim left behind: orphan it.",
			p: withUID, r: RemoteFacts{Exists: true, UID: "remote-1", Labels: l, Annotations: a}, want: PendingOrphanIt},
		"Replaced": {reason: "Another object of the same name (recreated since): never touched.",
			p: withUID, r: RemoteFacts{Exists: true, UID: "remote-2", Labels: l, Annotations: a}, want: PendingDrop},
		"AlreadyOrphaned": {reason: "Someone (an uninstall, an earlier pass) orphaned it already.",
			p: p, r: RemoteFacts{Exists: true, UID: "remote-1", Labels: orphanedLabels, Annotations: orphanedAnn}, want: PendingDrop},
		"OtherCluster": {reason: "Taken over by another cluster since: not ours to mark.",
			p: p, r: RemoteFacts{Exists: true, UID: "remote-1", Labels: otherCluster.Labels(), Annotations: otherCluster.Annotations()}, want: PendingDrop},
		"NewLocalClaimUsesIt": {reason: "A new local claim of the name attached to it: orphaning it would yank it from under that claim.",
			p: p, r: RemoteFacts{Exists: true, UID: "remote-1", Labels: l, Annotations: newClaimAnn}, want: PendingDrop},
		"OlderConnectorNoClaimUID": {reason: "Pushed by a connector that recorded no claim uid: ours by cluster, namespace and name.",
			p: p, r: RemoteFacts{Exists: true, UID: "remote-1", Labels: l, Annotations: noUIDAnn}, want: PendingOrphanIt},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, why := DecidePending(tc.p, tc.r)
			if got != tc.want {
				t.Errorf("%s\nDecidePending: got %v (%s), want %v", tc.reason, got, why, tc.want)
			}
		})
	}
}

func TestPendingOrphanPatch(t *testing.T) {
	b, err := PendingOrphanPatch(types.UID("remote-1"), "42")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"metadata": map[string]any{
		"uid": "remote-1", "resourceVersion": "42",
		"labels":      map[string]any{conflict.LabelClusterID: nil},
		"annotations": map[string]any{conflict.AnnotationOrphaned: "claim-deleted"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PendingOrphanPatch: -want +got:\n%s", diff)
	}
}

func TestOrphanLaterAllowed(t *testing.T) {
	orphan := &unstructured.Unstructured{}
	orphan.SetAnnotations(map[string]string{conflict.AnnotationDeletionPolicy: conflict.DeletionPolicyOrphan})
	plain := &unstructured.Unstructured{}
	closed := func(reason string) controlplane.GateState { return controlplane.GateState{Reason: reason} }
	cases := map[string]struct {
		reason string
		local  *unstructured.Unstructured
		gate   controlplane.GateState
		ns     string
		want   bool
	}{
		"Unreachable":      {reason: "An Orphan claim goes while the control plane does not answer.", local: orphan, gate: closed(condition.ReasonUnreachable), ns: "sys", want: true},
		"Forbidden":        {reason: "Revoked credentials close the gate too.", local: orphan, gate: closed(condition.ReasonForbidden), ns: "sys", want: true},
		"NamespaceHeld":    {reason: "A namespace another cluster took over never opens again.", local: orphan, gate: closed(condition.ReasonNamespaceHeld), ns: "sys", want: true},
		"Starting":         {reason: "Before the first probe the claim waits a moment: the control plane may well answer.", local: orphan, gate: closed(condition.ReasonStarting), ns: "sys"},
		"Open":             {reason: "With the gate open the remote claim is orphaned at once, not recorded.", local: orphan, gate: controlplane.GateState{Open: true, Reason: condition.ReasonReady}, ns: "sys"},
		"NoDeletionPolicy": {reason: "A claim without the annotation waits for the control plane, as before.", local: plain, gate: closed(condition.ReasonUnreachable), ns: "sys"},
		"NowhereToRecord":  {reason: "Without a namespace for the record the claim waits.", local: orphan, gate: closed(condition.ReasonUnreachable)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := orphanLaterAllowed(tc.local, tc.gate, tc.ns); got != tc.want {
				t.Errorf("%s\norphanLaterAllowed = %v, want %v", tc.reason, got, tc.want)
			}
		})
	}
}
