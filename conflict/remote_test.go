package conflict

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// remotes lists every defined Remote value.
var remotes = []Remote{RemoteAbsent, RemoteOurs, RemoteOtherClaim, RemoteOtherCluster, RemoteUnmarked, RemoteOtherCopy}

// with returns a copy of m with the key-value pairs kv set; a value "-"
// removes its key.
func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "-" {
			delete(out, kv[i])
			continue
		}
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestClassifyRemote(t *testing.T) {
	us := Origin{ClusterID: "app-1", Namespace: "team-a", Name: "db", UID: "uid-1"}
	type args struct {
		exists      bool
		labels      map[string]string
		annotations map[string]string
	}
	cases := map[string]struct {
		reason string
		args   args
		want   Remote
	}{
		"Absent": {
			reason: "An object the control plane confirmed missing is absent.",
			args:   args{exists: false},
			want:   RemoteAbsent,
		},
		"AbsentIgnoresMarks": {
			reason: "exists decides absence, whatever metadata is passed along.",
			args:   args{exists: false, labels: us.Labels(), annotations: us.Annotations()},
			want:   RemoteAbsent,
		},
		"Ours": {
			reason: "Our cluster id and this claim's namespace and name make it ours.",
			args:   args{exists: true, labels: us.Labels(), annotations: us.Annotations()},
			want:   RemoteOurs,
		},
		"OursWithOtherMetadata": {
			reason: "Labels and annotations of others do not change whose it is.",
			args: args{exists: true, labels: with(us.Labels(), "team", "a"),
				annotations: with(us.Annotations(), "crossplane.io/external-name", "x")},
			want: RemoteOurs,
		},
		"OtherCopy": {
			reason: "Our cluster id, this claim's namespace and name, another claim uid: another copy of the claim (a cloned or restored cluster) pushed it.",
			args:   args{exists: true, labels: us.Labels(), annotations: with(us.Annotations(), AnnotationClaimUID, "uid-2")},
			want:   RemoteOtherCopy,
		},
		"OtherCopyUIDCaseSensitive": {
			reason: "Uids compare exactly.",
			args:   args{exists: true, labels: us.Labels(), annotations: with(us.Annotations(), AnnotationClaimUID, "UID-1")},
			want:   RemoteOtherCopy,
		},
		"OursNoUID": {
			reason: "A remote claim that records no uid (pushed by an older connector) keeps the rule without uids.",
			args:   args{exists: true, labels: us.Labels(), annotations: with(us.Annotations(), AnnotationClaimUID, "-")},
			want:   RemoteOurs,
		},
		"OursEmptyUID": {
			reason: "An empty uid annotation records no uid.",
			args:   args{exists: true, labels: us.Labels(), annotations: with(us.Annotations(), AnnotationClaimUID, "")},
			want:   RemoteOurs,
		},
		"OtherClaimBeforeOtherCopy": {
			reason: "Another claim's remote object stays a collision (never adoptable), whatever uid it records.",
			args: args{exists: true, labels: us.Labels(),
				annotations: with(us.Annotations(), AnnotationClaimName, "db2", AnnotationClaimUID, "uid-2")},
			want: RemoteOtherClaim,
		},
		"OtherClusterBeforeOtherCopy": {
			reason: "Another cluster's claim is another cluster's, whatever uid it records.",
			args: args{exists: true, labels: with(us.Labels(), LabelClusterID, "app-2"),
				annotations: with(us.Annotations(), AnnotationClaimUID, "uid-2")},
			want: RemoteOtherCluster,
		},
		"UnmarkedOrphanedWithOtherUID": {
			reason: "An orphaned remote claim is unmarked, whatever uid it records (the import rule is ClassifyImport's).",
			args: args{exists: true, labels: with(us.Labels(), LabelClusterID, "-"),
				annotations: with(us.Annotations(), AnnotationOrphaned, OrphanedByUninstall, AnnotationClaimUID, "uid-0")},
			want: RemoteUnmarked,
		},
		"OursOnlyLabelsDecideTheCluster": {
			reason: "The cluster-id label decides; a stale cluster-id annotation does not.",
			args:   args{exists: true, labels: us.Labels(), annotations: with(us.Annotations(), AnnotationClusterID, "app-2")},
			want:   RemoteOurs,
		},
		"OtherCluster": {
			reason: "Complete marks of another app cluster.",
			args: args{exists: true, labels: with(us.Labels(), LabelClusterID, "app-2"),
				annotations: with(us.Annotations(), AnnotationClusterID, "app-2")},
			want: RemoteOtherCluster,
		},
		"OtherClusterPartiallyMarked": {
			reason: "Another cluster's id label alone is enough to be another cluster's.",
			args:   args{exists: true, labels: map[string]string{LabelClusterID: "app-2"}},
			want:   RemoteOtherCluster,
		},
		"OtherClusterEvenIfAnnotationSaysUs": {
			reason: "The label wins over the annotation copy of the cluster id.",
			args:   args{exists: true, labels: with(us.Labels(), LabelClusterID, "app-2"), annotations: us.Annotations()},
			want:   RemoteOtherCluster,
		},
		"OtherClusterCaseSensitive": {
			reason: "Cluster ids compare exactly.",
			args:   args{exists: true, labels: with(us.Labels(), LabelClusterID, "App-1"), annotations: us.Annotations()},
			want:   RemoteOtherCluster,
		},
		"UnmarkedNil": {
			reason: "No metadata at all: someone else created it.",
			args:   args{exists: true},
			want:   RemoteUnmarked,
		},
		"UnmarkedForeignMetadata": {
			reason: "Metadata of others only.",
			args:   args{exists: true, labels: map[string]string{"team": "a"}, annotations: map[string]string{"note": "x"}},
			want:   RemoteUnmarked,
		},
		"UnmarkedEmptyClusterLabel": {
			reason: "An empty cluster-id label is no mark.",
			args:   args{exists: true, labels: with(us.Labels(), LabelClusterID, ""), annotations: us.Annotations()},
			want:   RemoteUnmarked,
		},
		"UnmarkedOrphaned": {
			reason: "An orphaned remote claim lost its cluster-id label but kept the annotations: it is no longer ours.",
			args: args{exists: true, labels: with(us.Labels(), LabelClusterID, "-"),
				annotations: with(us.Annotations(), AnnotationOrphaned, "claim-deleted")},
			want: RemoteUnmarked,
		},
		"OtherClaimPartiallyMarkedNoAnnotations": {
			reason: "Our cluster id without the claim annotations cannot be proven to be this claim's: never touched.",
			args:   args{exists: true, labels: us.Labels()},
			want:   RemoteOtherClaim,
		},
		"OtherClaimPartiallyMarkedNoName": {
			reason: "Our cluster id and namespace but no claim name: not provably this claim's.",
			args:   args{exists: true, labels: us.Labels(), annotations: with(us.Annotations(), AnnotationClaimName, "-")},
			want:   RemoteOtherClaim,
		},
		"OtherClaimName": {
			reason: "Our cluster, same namespace, another claim name (a name-mapping collision).",
			args:   args{exists: true, labels: us.Labels(), annotations: with(us.Annotations(), AnnotationClaimName, "db2")},
			want:   RemoteOtherClaim,
		},
		"OtherClaimNamespace": {
			reason: "Our cluster, same claim name, another namespace.",
			args:   args{exists: true, labels: us.Labels(), annotations: with(us.Annotations(), AnnotationClaimNamespace, "team-b")},
			want:   RemoteOtherClaim,
		},
		"OtherClaimNamespaceLabelIgnored": {
			reason: "The claim-namespace label is not read; the annotation is.",
			args: args{exists: true, labels: with(us.Labels(), LabelClaimNamespace, "team-b"),
				annotations: with(us.Annotations(), AnnotationClaimNamespace, "team-b")},
			want: RemoteOtherClaim,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ClassifyRemote(tc.args.exists, tc.args.labels, tc.args.annotations, us)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nClassifyRemote(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestClassifyImport(t *testing.T) {
	us := Origin{ClusterID: "app-1", Namespace: "team-a", Name: "db", UID: "uid-new"}
	// orphaned is a remote claim as an uninstall leaves it: the annotations
	// of the old local claim (uid-old), orphaned "uninstalled".
	orphaned := with(Origin{ClusterID: "app-1", Namespace: "team-a", Name: "db", UID: "uid-old"}.Annotations(),
		AnnotationOrphaned, OrphanedByUninstall)
	type args struct {
		class        Remote
		remoteUID    string
		annotations  map[string]string
		importedFrom string
	}
	cases := map[string]struct {
		reason string
		args   args
		want   Remote
	}{
		"ImportCopy": {
			reason: "The copy an import created from this very remote claim, still orphaned: ours, so that its push takes it back.",
			args:   args{class: RemoteUnmarked, remoteUID: "r-1", annotations: orphaned, importedFrom: "r-1"},
			want:   RemoteOurs,
		},
		"NotAnImportCopy": {
			reason: "A claim no import created (a user re-created it by hand) does not take an orphaned remote claim: it needs adoption.",
			args:   args{class: RemoteUnmarked, remoteUID: "r-1", annotations: orphaned},
			want:   RemoteUnmarked,
		},
		"ImportedFromAnotherRemote": {
			reason: "The remote claim was replaced since the copy was made: not the one imported.",
			args:   args{class: RemoteUnmarked, remoteUID: "r-2", annotations: orphaned, importedFrom: "r-1"},
			want:   RemoteUnmarked,
		},
		"OrphanedByClaimDeletion": {
			reason: "A remote claim orphaned because a user deleted its claim with deletion-policy Orphan is never taken back by an import.",
			args:   args{class: RemoteUnmarked, remoteUID: "r-1", annotations: with(orphaned, AnnotationOrphaned, "claim-deleted"), importedFrom: "r-1"},
			want:   RemoteUnmarked,
		},
		"NotOrphaned": {
			reason: "An unmarked object that no uninstall orphaned is foreign.",
			args:   args{class: RemoteUnmarked, remoteUID: "r-1", annotations: with(orphaned, AnnotationOrphaned, "-"), importedFrom: "r-1"},
			want:   RemoteUnmarked,
		},
		"OtherClusterAnnotation": {
			reason: "Orphaned by another cluster's uninstall: not ours.",
			args:   args{class: RemoteUnmarked, remoteUID: "r-1", annotations: with(orphaned, AnnotationClusterID, "app-2"), importedFrom: "r-1"},
			want:   RemoteUnmarked,
		},
		"OtherClaimName": {
			reason: "Orphaned from another claim: not this copy's.",
			args:   args{class: RemoteUnmarked, remoteUID: "r-1", annotations: with(orphaned, AnnotationClaimName, "db2"), importedFrom: "r-1"},
			want:   RemoteUnmarked,
		},
		"OtherClaimNamespace": {
			reason: "Orphaned from a claim of another namespace: not this copy's.",
			args:   args{class: RemoteUnmarked, remoteUID: "r-1", annotations: with(orphaned, AnnotationClaimNamespace, "team-b"), importedFrom: "r-1"},
			want:   RemoteUnmarked,
		},
		"PushedAlready": {
			reason: "Once the copy's push took the remote claim back, ClassifyRemote decides (by the new uid).",
			args:   args{class: RemoteOurs, remoteUID: "r-1", annotations: orphaned, importedFrom: "r-1"},
			want:   RemoteOurs,
		},
		"OtherCopyStays": {
			reason: "A labelled remote claim of another copy is not made ours by an import annotation.",
			args:   args{class: RemoteOtherCopy, remoteUID: "r-1", annotations: orphaned, importedFrom: "r-1"},
			want:   RemoteOtherCopy,
		},
		"OtherClusterStays": {
			reason: "Another cluster's claim stays another cluster's.",
			args:   args{class: RemoteOtherCluster, remoteUID: "r-1", annotations: orphaned, importedFrom: "r-1"},
			want:   RemoteOtherCluster,
		},
		"AbsentStays": {
			reason: "Nothing there: the copy creates it.",
			args:   args{class: RemoteAbsent, importedFrom: "r-1"},
			want:   RemoteAbsent,
		},
		"EmptyUIDs": {
			reason: "An empty remote uid never matches (no annotation is no import).",
			args:   args{class: RemoteUnmarked, annotations: orphaned},
			want:   RemoteUnmarked,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ClassifyImport(tc.args.class, tc.args.remoteUID, tc.args.annotations, us, tc.args.importedFrom)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nClassifyImport(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestPush(t *testing.T) {
	type args struct {
		r     Remote
		adopt bool
	}
	cases := map[string]struct {
		reason string
		args   args
		want   Action
	}{
		"AbsentNoAdopt":       {reason: "Nothing there: create it.", args: args{RemoteAbsent, false}, want: ActionApply},
		"AbsentAdopt":         {reason: "Adoption changes nothing when there is nothing to adopt.", args: args{RemoteAbsent, true}, want: ActionApply},
		"OursNoAdopt":         {reason: "Ours: update it.", args: args{RemoteOurs, false}, want: ActionApply},
		"OursAdopt":           {reason: "Ours needs no adoption.", args: args{RemoteOurs, true}, want: ActionApply},
		"OtherClaimNoAdopt":   {reason: "Another claim of ours is never touched.", args: args{RemoteOtherClaim, false}, want: ActionRefuse},
		"OtherClaimAdopt":     {reason: "Adopting another claim of ours would hand its composite to this one: refused even with adopt.", args: args{RemoteOtherClaim, true}, want: ActionRefuse},
		"OtherClusterNoAdopt": {reason: "Another cluster's claim is refused by default.", args: args{RemoteOtherCluster, false}, want: ActionRefuse},
		"OtherClusterAdopt":   {reason: "Another cluster's claim may be taken over on opt-in (migration).", args: args{RemoteOtherCluster, true}, want: ActionAdopt},
		"UnmarkedNoAdopt":     {reason: "A claim someone else created is refused by default.", args: args{RemoteUnmarked, false}, want: ActionRefuse},
		"UnmarkedAdopt":       {reason: "A claim someone else created may be taken over on opt-in.", args: args{RemoteUnmarked, true}, want: ActionAdopt},
		"OtherCopyNoAdopt":    {reason: "Another copy's claim (a cloned cluster) is refused by default.", args: args{RemoteOtherCopy, false}, want: ActionRefuse},
		"OtherCopyAdopt":      {reason: "Another copy's claim may be taken over on opt-in (the restored cluster is the real one).", args: args{RemoteOtherCopy, true}, want: ActionAdopt},
		"UnknownValueNoAdopt": {reason: "An unknown classification is refused.", args: args{Remote(42), false}, want: ActionRefuse},
		"UnknownValueAdopt":   {reason: "An unknown classification is refused even with adopt.", args: args{Remote(42), true}, want: ActionRefuse},
		"NegativeValueAdopt":  {reason: "A negative classification is refused.", args: args{Remote(-1), true}, want: ActionRefuse},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Push(tc.args.r, tc.args.adopt)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nPush(%v, %v): -want, +got:\n%s", tc.reason, tc.args.r, tc.args.adopt, diff)
			}
		})
	}
}

func TestMayDeleteRemote(t *testing.T) {
	cases := map[string]struct {
		reason string
		r      Remote
		want   bool
	}{
		"Absent":       {reason: "Already gone: nothing to delete.", r: RemoteAbsent, want: false},
		"Ours":         {reason: "Only our own remote claim goes with the local one.", r: RemoteOurs, want: true},
		"OtherClaim":   {reason: "Another claim of ours is never deleted.", r: RemoteOtherClaim, want: false},
		"OtherCluster": {reason: "Another cluster's claim is never deleted.", r: RemoteOtherCluster, want: false},
		"Unmarked":     {reason: "Someone else's claim (or an orphaned one) is never deleted.", r: RemoteUnmarked, want: false},
		"OtherCopy":    {reason: "Another copy's claim (a cloned cluster) is never deleted.", r: RemoteOtherCopy, want: false},
		"Unknown":      {reason: "An unknown classification is never deleted.", r: Remote(42), want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, MayDeleteRemote(tc.r)); diff != "" {
				t.Errorf("%s\nMayDeleteRemote(%v): -want, +got:\n%s", tc.reason, tc.r, diff)
			}
		})
	}
}

func TestRemoteReason(t *testing.T) {
	type want struct {
		Reason string
		// Message is whether a message is given; MentionsAdopt whether it
		// tells the user about the adopt annotation.
		Message       bool
		MentionsAdopt bool
	}
	cases := map[string]struct {
		reason string
		r      Remote
		want   want
	}{
		"Absent":       {reason: "Nothing is refused for an absent object.", r: RemoteAbsent, want: want{}},
		"Ours":         {reason: "Nothing is refused for our own object.", r: RemoteOurs, want: want{}},
		"OtherClaim":   {reason: "A collision cannot be adopted, so the message must not offer it.", r: RemoteOtherClaim, want: want{Reason: "NameCollision", Message: true}},
		"OtherCluster": {reason: "Another cluster's claim: the way out is the adopt annotation.", r: RemoteOtherCluster, want: want{Reason: "OwnedByOtherCluster", Message: true, MentionsAdopt: true}},
		"Unmarked":     {reason: "A foreign claim: the way out is the adopt annotation.", r: RemoteUnmarked, want: want{Reason: "ForeignObject", Message: true, MentionsAdopt: true}},
		"OtherCopy":    {reason: "Another copy's claim: the way out is the adopt annotation.", r: RemoteOtherCopy, want: want{Reason: "OwnedByOtherCopy", Message: true, MentionsAdopt: true}},
		"Unknown":      {reason: "An unknown classification has no reason.", r: Remote(42), want: want{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			reason, msg := tc.r.Reason()
			got := want{Reason: reason, Message: msg != "", MentionsAdopt: strings.Contains(msg, AnnotationAdopt+"=true")}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n%v.Reason(): -want, +got:\n%s", tc.reason, tc.r, diff)
			}
		})
	}
}

// TestRefusalIsExplained checks what sync's checkPush relies on: every
// refused push has a reason to put in the condition, and a message offers
// adoption exactly when adoption would be allowed.
func TestRefusalIsExplained(t *testing.T) {
	for _, r := range remotes {
		t.Run(r.String(), func(t *testing.T) {
			reason, msg := r.Reason()
			refused := Push(r, false) == ActionRefuse
			if diff := cmp.Diff(refused, reason != "" && msg != ""); diff != "" {
				t.Errorf("a refused push must come with a reason and message (and only then): -want, +got:\n%s", diff)
			}
			adoptable := Push(r, true) == ActionAdopt
			if diff := cmp.Diff(adoptable, strings.Contains(msg, AnnotationAdopt)); diff != "" {
				t.Errorf("the message must offer adoption exactly when it works: -want, +got:\n%s", diff)
			}
		})
	}
}

func TestReasonForNamesRecordedUID(t *testing.T) {
	cases := map[string]struct {
		reason   string
		r        Remote
		recorded string
		want     []string
	}{
		"OtherCopy": {
			reason: "The message names the uid the remote claim records, the likely cause and the way out.",
			r:      RemoteOtherCopy, recorded: "uid-2",
			want: []string{"records claim uid uid-2", "restored or cloned cluster", AnnotationAdopt + "=true"},
		},
		"OtherCopyUnknownUID": {
			reason: "Without the uid the message still explains.",
			r:      RemoteOtherCopy,
			want:   []string{"records another claim uid", AnnotationAdopt + "=true"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			reason, msg := tc.r.ReasonFor(tc.recorded)
			if reason != ReasonOwnedByOtherCopy {
				t.Errorf("%s\nreason %q, want %q", tc.reason, reason, ReasonOwnedByOtherCopy)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%s\nmessage %q lacks %q", tc.reason, msg, w)
				}
			}
		})
	}
}

func TestRemoteString(t *testing.T) {
	cases := map[string]struct {
		reason string
		r      Remote
		want   string
	}{
		"Absent":       {reason: "Names appear in the Adopted event.", r: RemoteAbsent, want: "Absent"},
		"Ours":         {reason: "Names appear in the Adopted event.", r: RemoteOurs, want: "Ours"},
		"OtherClaim":   {reason: "Names appear in the Adopted event.", r: RemoteOtherClaim, want: "OtherClaim"},
		"OtherCluster": {reason: "Names appear in the Adopted event.", r: RemoteOtherCluster, want: "OtherCluster"},
		"Unmarked":     {reason: "Names appear in the Adopted event.", r: RemoteUnmarked, want: "Unmarked"},
		"OtherCopy":    {reason: "Names appear in the Adopted event.", r: RemoteOtherCopy, want: "OtherCopy"},
		"Unknown":      {reason: "An out-of-range value does not panic.", r: Remote(42), want: "Unknown"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.r.String()); diff != "" {
				t.Errorf("%s\nString(): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
