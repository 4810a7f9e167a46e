package conflict

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestClassifySecret(t *testing.T) {
	const claim = types.UID("claim-uid")
	yes, no := true, false
	managed := map[string]string{LabelManaged: "true"}
	controller := func(uid types.UID) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: "example.org/v1", Kind: "Database", Name: "db", UID: uid, Controller: &yes}
	}
	type args struct {
		exists bool
		labels map[string]string
		owners []metav1.OwnerReference
	}
	cases := map[string]struct {
		reason string
		args   args
		want   Local
	}{
		"Absent": {
			reason: "No Secret of that name: we may create it.",
			args:   args{exists: false},
			want:   LocalAbsent,
		},
		"AbsentIgnoresMetadata": {
			reason: "exists decides absence.",
			args:   args{exists: false, labels: managed, owners: []metav1.OwnerReference{controller(claim)}},
			want:   LocalAbsent,
		},
		"Ours": {
			reason: "Our label and this claim as controller.",
			args:   args{exists: true, labels: managed, owners: []metav1.OwnerReference{controller(claim)}},
			want:   LocalOurs,
		},
		"OursAmongOtherOwners": {
			reason: "Other non-controller owners do not matter.",
			args: args{exists: true, labels: map[string]string{LabelManaged: "true", "team": "a"}, owners: []metav1.OwnerReference{
				{Kind: "ConfigMap", Name: "x", UID: "other"}, controller(claim)}},
			want: LocalOurs,
		},
		"NoLabel": {
			reason: "Without our label it is someone else's, even if owned by the claim.",
			args:   args{exists: true, owners: []metav1.OwnerReference{controller(claim)}},
			want:   LocalForeign,
		},
		"LabelFalse": {
			reason: "The label must say exactly true.",
			args:   args{exists: true, labels: map[string]string{LabelManaged: "false"}, owners: []metav1.OwnerReference{controller(claim)}},
			want:   LocalForeign,
		},
		"LabelCapitalised": {
			reason: "The label value compares exactly.",
			args:   args{exists: true, labels: map[string]string{LabelManaged: "True"}, owners: []metav1.OwnerReference{controller(claim)}},
			want:   LocalForeign,
		},
		"LabelNoOwners": {
			reason: "Our label without an owner: not provably this claim's.",
			args:   args{exists: true, labels: managed},
			want:   LocalForeign,
		},
		"LabelOtherOwnerUID": {
			reason: "Written by us for another claim (or a former claim of this name): not this claim's.",
			args:   args{exists: true, labels: managed, owners: []metav1.OwnerReference{controller("other-uid")}},
			want:   LocalForeign,
		},
		"OwnerNotControllerNil": {
			reason: "The claim must be the controller, not just an owner.",
			args: args{exists: true, labels: managed, owners: []metav1.OwnerReference{
				{Kind: "Database", Name: "db", UID: claim}}},
			want: LocalForeign,
		},
		"OwnerNotControllerFalse": {
			reason: "Controller=false is not a controller.",
			args: args{exists: true, labels: managed, owners: []metav1.OwnerReference{
				{Kind: "Database", Name: "db", UID: claim, Controller: &no}}},
			want: LocalForeign,
		},
		"OwnerButOtherController": {
			reason: "Owned by the claim but controlled by someone else.",
			args: args{exists: true, labels: managed, owners: []metav1.OwnerReference{
				{Kind: "Database", Name: "db", UID: claim, Controller: &no}, controller("other-uid")}},
			want: LocalForeign,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ClassifySecret(tc.args.exists, tc.args.labels, tc.args.owners, claim)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nClassifySecret(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestClassifyCRD(t *testing.T) {
	type args struct {
		exists     bool
		labels     map[string]string
		connection string
	}
	cases := map[string]struct {
		reason string
		args   args
		want   Local
	}{
		"Absent": {
			reason: "No CRD of that name: we may create it.",
			args:   args{exists: false, connection: "conn-a"},
			want:   LocalAbsent,
		},
		"AbsentIgnoresLabels": {
			reason: "exists decides absence.",
			args:   args{exists: false, labels: map[string]string{LabelManaged: "true", LabelConnection: "conn-a"}, connection: "conn-a"},
			want:   LocalAbsent,
		},
		"Ours": {
			reason: "Our label and our Connection's name.",
			args:   args{exists: true, labels: map[string]string{LabelManaged: "true", LabelConnection: "conn-a", "x": "y"}, connection: "conn-a"},
			want:   LocalOurs,
		},
		"OtherConnection": {
			reason: "Mirrored by another connector in the same app cluster: not ours to write or delete.",
			args:   args{exists: true, labels: map[string]string{LabelManaged: "true", LabelConnection: "conn-b"}, connection: "conn-a"},
			want:   LocalForeign,
		},
		"NoConnectionLabel": {
			reason: "Managed by mcp-connector but not mirrored for a Connection (the Connection CRD itself): foreign.",
			args:   args{exists: true, labels: map[string]string{LabelManaged: "true"}, connection: "conn-a"},
			want:   LocalForeign,
		},
		"NotManaged": {
			reason: "The connection label alone is not enough.",
			args:   args{exists: true, labels: map[string]string{LabelConnection: "conn-a"}, connection: "conn-a"},
			want:   LocalForeign,
		},
		"ManagedFalse": {
			reason: "The managed label must say exactly true.",
			args:   args{exists: true, labels: map[string]string{LabelManaged: "false", LabelConnection: "conn-a"}, connection: "conn-a"},
			want:   LocalForeign,
		},
		"NoLabels": {
			reason: "A CRD someone else installed.",
			args:   args{exists: true, connection: "conn-a"},
			want:   LocalForeign,
		},
		"ConnectionCaseSensitive": {
			reason: "Connection names compare exactly.",
			args:   args{exists: true, labels: map[string]string{LabelManaged: "true", LabelConnection: "Conn-A"}, connection: "conn-a"},
			want:   LocalForeign,
		},
		"EmptyConnectionName": {
			reason: "An empty Connection name matches a missing label; the command never passes one (it defaults to the control-plane namespace).",
			args:   args{exists: true, labels: map[string]string{LabelManaged: "true"}, connection: ""},
			want:   LocalOurs,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ClassifyCRD(tc.args.exists, tc.args.labels, tc.args.connection)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nClassifyCRD(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestMayDeleteCRD runs every combination of the four inputs. Deleting a CRD
// deletes every object of its kind, so exactly one combination is safe.
func TestMayDeleteCRD(t *testing.T) {
	type args struct {
		l                 Local
		withdrawnObserved bool
		localObjects      int
		listOK            bool
	}
	type tcase struct {
		reason string
		args   args
		want   bool
	}
	cases := map[string]tcase{}
	for _, l := range []Local{LocalAbsent, LocalOurs, LocalForeign} {
		for _, withdrawn := range []bool{false, true} {
			for _, listOK := range []bool{false, true} {
				for _, n := range []int{0, 1, 7, -1} {
					safe := l == LocalOurs && withdrawn && listOK && n == 0
					reason := "Unsafe: a CRD is deleted only when it is ours, the withdrawal was observed, and a successful list found no objects."
					if safe {
						reason = "The one safe case: ours, withdrawal observed, a successful list found no local objects."
					}
					name := fmt.Sprintf("%s/withdrawn=%t/listOK=%t/objects=%d", l, withdrawn, listOK, n)
					cases[name] = tcase{reason: reason, args: args{l, withdrawn, n, listOK}, want: safe}
				}
			}
		}
	}
	if got := len(cases); got != 48 {
		t.Fatalf("want 48 combinations, built %d", got)
	}
	safe := 0
	for name, tc := range cases {
		if tc.want {
			safe++
		}
		t.Run(name, func(t *testing.T) {
			got := MayDeleteCRD(tc.args.l, tc.args.withdrawnObserved, tc.args.localObjects, tc.args.listOK)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nMayDeleteCRD(%+v): -want, +got:\n%s", tc.reason, tc.args, diff)
			}
		})
	}
	if safe != 1 {
		t.Errorf("want exactly one safe combination, got %d", safe)
	}
}

func TestLocalString(t *testing.T) {
	got := fmt.Sprint(LocalAbsent, LocalOurs, LocalForeign)
	if diff := cmp.Diff("Absent Ours Foreign", got); diff != "" {
		t.Errorf("String(): -want, +got:\n%s", diff)
	}
}
