package conflict

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClassifyHolder(t *testing.T) {
	type args struct {
		recorded  string
		clusterID string
	}
	cases := map[string]struct {
		reason string
		args   args
		want   Holder
	}{
		"None":            {reason: "No recorded holder: the namespace is free.", args: args{"", "app-1"}, want: HolderNone},
		"Us":              {reason: "Our own cluster id is recorded.", args: args{"app-1", "app-1"}, want: HolderUs},
		"Other":           {reason: "Another cluster id is recorded.", args: args{"app-2", "app-1"}, want: HolderOther},
		"OtherCase":       {reason: "Cluster ids compare exactly, case included.", args: args{"App-1", "app-1"}, want: HolderOther},
		"OtherWhitespace": {reason: "Cluster ids compare exactly, whitespace included.", args: args{"app-1 ", "app-1"}, want: HolderOther},
		"EmptyBoth":       {reason: "An empty record is free even for an empty cluster id: empty never counts as us.", args: args{"", ""}, want: HolderNone},
		"EmptyOurs":       {reason: "A recorded id against an empty cluster id is another cluster's.", args: args{"app-2", ""}, want: HolderOther},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ClassifyHolder(tc.args.recorded, tc.args.clusterID)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nClassifyHolder(%q, %q): -want, +got:\n%s", tc.reason, tc.args.recorded, tc.args.clusterID, diff)
			}
		})
	}
}

func TestMayHold(t *testing.T) {
	cases := map[string]struct {
		reason   string
		h        Holder
		takeover bool
		want     bool
	}{
		"NoneNoTakeover":  {reason: "A free namespace may be taken.", h: HolderNone, takeover: false, want: true},
		"NoneTakeover":    {reason: "A free namespace may be taken.", h: HolderNone, takeover: true, want: true},
		"UsNoTakeover":    {reason: "We keep what we hold.", h: HolderUs, takeover: false, want: true},
		"UsTakeover":      {reason: "We keep what we hold.", h: HolderUs, takeover: true, want: true},
		"OtherNoTakeover": {reason: "Another cluster's namespace is refused.", h: HolderOther, takeover: false, want: false},
		"OtherTakeover":   {reason: "Another cluster's namespace is taken only with the takeover flag.", h: HolderOther, takeover: true, want: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, MayHold(tc.h, tc.takeover)); diff != "" {
				t.Errorf("%s\nMayHold(%v, %v): -want, +got:\n%s", tc.reason, tc.h, tc.takeover, diff)
			}
		})
	}
}

func TestHolderString(t *testing.T) {
	got := fmt.Sprint(HolderNone, HolderUs, HolderOther)
	if diff := cmp.Diff("None Us Other", got); diff != "" {
		t.Errorf("String(): -want, +got:\n%s", diff)
	}
}
