package conflict

import (
	"encoding/json"
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultFieldPolicy(t *testing.T) {
	want := FieldPolicy{
		ControlPlane: []string{"resourceRef", "compositionRevisionRef"},
		Chosen: []string{"compositionRef", "compositionSelector", "compositionRevisionSelector",
			"compositionUpdatePolicy", "compositeDeletePolicy"},
		Crossplane: []string{"crossplane", "crossplane-*"},
	}
	if diff := cmp.Diff(want, DefaultFieldPolicy()); diff != "" {
		t.Errorf("DefaultFieldPolicy() (docs/conflict-rules.md lists these): -want, +got:\n%s", diff)
	}
}

func TestFieldPolicyUp(t *testing.T) {
	params := map[string]any{"size": "small", "count": int64(2)}
	type args struct {
		policy           FieldPolicy
		local            map[string]any
		fromControlPlane []string
	}
	cases := map[string]struct {
		reason string
		args   args
		want   map[string]any
	}{
		"NilLocal": {
			reason: "No spec: an empty, non-nil map (sync adds writeConnectionSecretToRef to it).",
			args:   args{policy: DefaultFieldPolicy()},
			want:   map[string]any{},
		},
		"UserFieldsGoUp": {
			reason: "Fields the policy does not name go up as they are, nested values included.",
			args: args{policy: DefaultFieldPolicy(), local: map[string]any{
				"parameters": params, "writeConnectionSecretToRef": map[string]any{"name": "db-conn"}}},
			want: map[string]any{"parameters": params, "writeConnectionSecretToRef": map[string]any{"name": "db-conn"}},
		},
		"ControlPlaneFieldsNeverGoUp": {
			reason: "resourceRef and compositionRevisionRef stay behind even when no manager record says where they came from.",
			args: args{policy: DefaultFieldPolicy(), local: map[string]any{
				"parameters":             params,
				"resourceRef":            map[string]any{"name": "db-x1"},
				"compositionRevisionRef": map[string]any{"name": "rev-1"},
			}},
			want: map[string]any{"parameters": params},
		},
		"ControlPlaneFieldsNeverGoUpEvenIfUserSet": {
			reason: "A user cannot push resourceRef: a stale or empty one would make Crossplane create a second composite.",
			args: args{policy: DefaultFieldPolicy(), local: map[string]any{
				"resourceRef": map[string]any{}}, fromControlPlane: nil},
			want: map[string]any{},
		},
		"ChosenFieldsSetByUserGoUp": {
			reason: "Chosen fields the user set (not recorded as coming down) go up.",
			args: args{policy: DefaultFieldPolicy(), local: map[string]any{
				"compositionRef":              map[string]any{"name": "aws"},
				"compositionSelector":         map[string]any{"matchLabels": map[string]any{"provider": "aws"}},
				"compositionRevisionSelector": map[string]any{"matchLabels": map[string]any{"channel": "stable"}},
				"compositionUpdatePolicy":     "Manual",
				"compositeDeletePolicy":       "Foreground",
			}},
			want: map[string]any{
				"compositionRef":              map[string]any{"name": "aws"},
				"compositionSelector":         map[string]any{"matchLabels": map[string]any{"provider": "aws"}},
				"compositionRevisionSelector": map[string]any{"matchLabels": map[string]any{"channel": "stable"}},
				"compositionUpdatePolicy":     "Manual",
				"compositeDeletePolicy":       "Foreground",
			},
		},
		"ChosenFieldsFromControlPlaneStay": {
			reason: "Chosen fields that came down from the control plane are not pushed back up.",
			args: args{policy: DefaultFieldPolicy(), local: map[string]any{
				"parameters":              params,
				"compositionRef":          map[string]any{"name": "aws"},
				"compositionUpdatePolicy": "Automatic",
				"compositeDeletePolicy":   "Foreground",
			}, fromControlPlane: []string{"compositionRef", "compositionUpdatePolicy", "resourceRef"}},
			want: map[string]any{"parameters": params, "compositeDeletePolicy": "Foreground"},
		},
		"FromControlPlaneOnlyMattersForChosen": {
			reason: "A user field wrongly recorded as coming down still goes up: only chosen fields are filtered by origin.",
			args: args{policy: DefaultFieldPolicy(), local: map[string]any{"parameters": params},
				fromControlPlane: []string{"parameters"}},
			want: map[string]any{"parameters": params},
		},
		"EmptyPolicy": {
			reason: "An empty policy pushes everything.",
			args: args{policy: FieldPolicy{}, local: map[string]any{"resourceRef": map[string]any{"name": "x"}, "compositionRef": "y"},
				fromControlPlane: []string{"compositionRef"}},
			want: map[string]any{"resourceRef": map[string]any{"name": "x"}, "compositionRef": "y"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := tc.args.policy.Up(tc.args.local, tc.args.fromControlPlane)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nUp(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestFieldPolicyDown(t *testing.T) {
	remote := map[string]any{
		"parameters":                 map[string]any{"size": "small"},
		"writeConnectionSecretToRef": map[string]any{"name": "app-1-abc"},
		"resourceRef":                map[string]any{"name": "db-x1"},
		"compositionRevisionRef":     map[string]any{"name": "aws-7c9"},
		"compositionRef":             map[string]any{"name": "aws"},
		"compositionUpdatePolicy":    "Automatic",
		"compositeDeletePolicy":      "Background",
	}
	type args struct {
		policy  FieldPolicy
		remote  map[string]any
		userSet []string
	}
	cases := map[string]struct {
		reason string
		args   args
		want   map[string]any
	}{
		"NilRemote": {
			reason: "Nothing remote: nothing comes down, as an empty map.",
			args:   args{policy: DefaultFieldPolicy()},
			want:   map[string]any{},
		},
		"NothingSetByUser": {
			reason: "Control-plane fields and every chosen field come down; user fields never do.",
			args:   args{policy: DefaultFieldPolicy(), remote: remote},
			want: map[string]any{
				"resourceRef":             map[string]any{"name": "db-x1"},
				"compositionRevisionRef":  map[string]any{"name": "aws-7c9"},
				"compositionRef":          map[string]any{"name": "aws"},
				"compositionUpdatePolicy": "Automatic",
				"compositeDeletePolicy":   "Background",
			},
		},
		"ChosenSetByUser": {
			reason: "Chosen fields the user set stay the user's.",
			args: args{policy: DefaultFieldPolicy(), remote: remote,
				userSet: []string{"parameters", "compositionRef", "compositeDeletePolicy"}},
			want: map[string]any{
				"resourceRef":             map[string]any{"name": "db-x1"},
				"compositionRevisionRef":  map[string]any{"name": "aws-7c9"},
				"compositionUpdatePolicy": "Automatic",
			},
		},
		"ControlPlaneFieldsEvenIfUserSet": {
			reason: "Control-plane fields always come down, even when the user wrote them locally.",
			args:   args{policy: DefaultFieldPolicy(), remote: remote, userSet: []string{"resourceRef", "compositionRevisionRef"}},
			want: map[string]any{
				"resourceRef":             map[string]any{"name": "db-x1"},
				"compositionRevisionRef":  map[string]any{"name": "aws-7c9"},
				"compositionRef":          map[string]any{"name": "aws"},
				"compositionUpdatePolicy": "Automatic",
				"compositeDeletePolicy":   "Background",
			},
		},
		"OnlyWhatTheRemoteHas": {
			reason: "Fields the remote claim lacks do not come down (sync removes ones it wrote before).",
			args:   args{policy: DefaultFieldPolicy(), remote: map[string]any{"parameters": map[string]any{}, "compositionRef": map[string]any{"name": "aws"}}},
			want:   map[string]any{"compositionRef": map[string]any{"name": "aws"}},
		},
		"EmptyPolicy": {
			reason: "An empty policy brings nothing down.",
			args:   args{policy: FieldPolicy{}, remote: remote},
			want:   map[string]any{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := tc.args.policy.Down(tc.args.remote, tc.args.userSet)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nDown(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestUpDownDisjoint: as sync calls them (every local field either came down
// from the control plane or was set by the user), a field never both goes up
// and comes down, so the two field managers never fight over one field.
func TestUpDownDisjoint(t *testing.T) {
	p := DefaultFieldPolicy()
	spec := map[string]any{"parameters": "p", "writeConnectionSecretToRef": "w"}
	for _, k := range append(slices.Clone(p.ControlPlane), p.Chosen...) {
		spec[k] = k
	}
	for set := 0; set < 1<<len(p.Chosen); set++ {
		var fromCP, userSet []string
		for i, k := range p.Chosen {
			if set&(1<<i) != 0 {
				fromCP = append(fromCP, k)
			}
		}
		fromCP = append(fromCP, p.ControlPlane...)
		for k := range spec {
			if !slices.Contains(fromCP, k) {
				userSet = append(userSet, k)
			}
		}
		up, down := p.Up(spec, fromCP), p.Down(spec, userSet)
		for k := range spec {
			_, isUp := up[k]
			_, isDown := down[k]
			if isUp == isDown {
				t.Errorf("fromControlPlane %v: field %s goes up: %t, comes down: %t; want exactly one", fromCP, k, isUp, isDown)
			}
		}
	}
}

func TestCompareSpec(t *testing.T) {
	up := func() map[string]any {
		return map[string]any{
			"parameters": map[string]any{
				"size":    "small",
				"count":   int64(2),
				"tags":    []any{"a", "b"},
				"network": map[string]any{"vpc": "main"},
			},
			"writeConnectionSecretToRef": map[string]any{"name": "app-1-abc"},
		}
	}
	lastPush := SpecHash(up())
	type args struct {
		policy     FieldPolicy
		up         map[string]any
		remote     map[string]any
		lastHash   string
		crossplane []Path
	}
	type want struct {
		State SpecState
		Extra [][]string
	}
	cases := map[string]struct {
		reason string
		args   args
		want   want
	}{
		"InSync": {
			reason: "The remote spec is what we push.",
			args:   args{policy: DefaultFieldPolicy(), up: up(), remote: up(), lastHash: lastPush},
			want:   want{State: SpecInSync},
		},
		"InSyncWithoutHash": {
			reason: "Equal specs are in sync whatever the hash says: the hash only tells who changed what.",
			args:   args{policy: DefaultFieldPolicy(), up: up(), remote: up(), lastHash: ""},
			want:   want{State: SpecInSync},
		},
		"InSyncBothEmpty": {
			reason: "An empty spec and no remote spec agree.",
			args:   args{policy: DefaultFieldPolicy(), up: map[string]any{}, remote: nil},
			want:   want{State: SpecInSync},
		},
		"InSyncControlPlaneFieldsIgnored": {
			reason: "resourceRef and compositionRevisionRef are Crossplane's: never drift, never extra.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, remote: func() map[string]any {
				r := up()
				r["resourceRef"] = map[string]any{"name": "db-x1"}
				r["compositionRevisionRef"] = map[string]any{"name": "aws-7c9"}
				return r
			}()},
			want: want{State: SpecInSync},
		},
		"InSyncChosenDefaultedRemotely": {
			reason: "Chosen fields the local claim does not push (Crossplane picked or defaulted them) are not drift.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, remote: func() map[string]any {
				r := up()
				r["compositionRef"] = map[string]any{"name": "aws"}
				r["compositionSelector"] = map[string]any{"matchLabels": map[string]any{"provider": "aws"}}
				r["compositionRevisionSelector"] = map[string]any{"matchLabels": map[string]any{"channel": "stable"}}
				r["compositionUpdatePolicy"] = "Automatic"
				r["compositeDeletePolicy"] = "Background"
				return r
			}()},
			want: want{State: SpecInSync},
		},
		"InSyncInt64VersusFloat64": {
			reason: "Numbers compare by value: an int64 from one decoder equals a float64 from another.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, remote: func() map[string]any {
				r := up()
				r["parameters"].(map[string]any)["count"] = float64(2)
				return r
			}()},
			want: want{State: SpecInSync},
		},
		"InSyncNumbersInLists": {
			reason: "Numbers inside lists of objects compare by value too.",
			args: args{policy: DefaultFieldPolicy(),
				up:     map[string]any{"ports": []any{map[string]any{"port": int64(80)}, int64(443)}},
				remote: map[string]any{"ports": []any{map[string]any{"port": float64(80)}, json.Number("443")}}},
			want: want{State: SpecInSync},
		},
		"LocalChanged": {
			reason: "The local spec is not what was last pushed: a plain update, no revert.",
			args: args{policy: DefaultFieldPolicy(), remote: up(), lastHash: lastPush, up: func() map[string]any {
				u := up()
				u["parameters"].(map[string]any)["size"] = "large"
				return u
			}()},
			want: want{State: SpecLocalChanged},
		},
		"LocalAddedField": {
			reason: "A field the remote spec lacks was added locally.",
			args: args{policy: DefaultFieldPolicy(), remote: up(), lastHash: lastPush, up: func() map[string]any {
				u := up()
				u["compositionUpdatePolicy"] = "Manual"
				return u
			}()},
			want: want{State: SpecLocalChanged},
		},
		"LocalRemovedField": {
			reason: "A field removed locally is still remote: it is reported as extra so it goes even if another manager owns it.",
			args: args{policy: DefaultFieldPolicy(), remote: up(), lastHash: lastPush, up: func() map[string]any {
				u := up()
				delete(u["parameters"].(map[string]any), "network")
				return u
			}()},
			want: want{State: SpecLocalChanged, Extra: [][]string{{"parameters", "network"}}},
		},
		"LocalChangedNoHash": {
			reason: "A remote claim without our hash (just adopted) differs because of the local side.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: "", remote: map[string]any{
				"parameters": map[string]any{"size": "tiny"}}},
			want: want{State: SpecLocalChanged},
		},
		"LocalChangedAndRemoteDrifted": {
			reason: "Both sides changed: the local change wins, the out-of-band extra still goes.",
			args: args{policy: DefaultFieldPolicy(), lastHash: lastPush,
				up: func() map[string]any {
					u := up()
					u["parameters"].(map[string]any)["size"] = "medium"
					return u
				}(),
				remote: func() map[string]any {
					r := up()
					r["parameters"].(map[string]any)["size"] = "huge"
					r["debug"] = true
					return r
				}()},
			want: want{State: SpecLocalChanged, Extra: [][]string{{"debug"}}},
		},
		"HashMustBeOfTheSpecAlone": {
			reason: "lastHash must be SpecHash of the pushed spec; a hash over anything else reads as a local change, never as drift.",
			args: args{policy: DefaultFieldPolicy(), up: up(),
				lastHash: SpecHash(map[string]any{"spec": up(), "labels": map[string]any{}, "annotations": map[string]any{}}),
				remote: func() map[string]any {
					r := up()
					r["parameters"].(map[string]any)["size"] = "large"
					return r
				}()},
			want: want{State: SpecLocalChanged},
		},
		"RemoteDriftedValue": {
			reason: "The local spec is what was last pushed, the remote value is not: someone changed it out of band.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, remote: func() map[string]any {
				r := up()
				r["parameters"].(map[string]any)["size"] = "large"
				return r
			}()},
			want: want{State: SpecRemoteDrifted},
		},
		"RemoteDriftedNumber": {
			reason: "A number changed out of band.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, remote: func() map[string]any {
				r := up()
				r["parameters"].(map[string]any)["count"] = float64(2.5)
				return r
			}()},
			want: want{State: SpecRemoteDrifted},
		},
		"RemoteDriftedRemovedField": {
			reason: "A field removed remotely is drift (the push puts it back); nothing is extra.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, remote: func() map[string]any {
				r := up()
				delete(r, "writeConnectionSecretToRef")
				return r
			}()},
			want: want{State: SpecRemoteDrifted},
		},
		"RemoteDriftedTopLevelExtra": {
			reason: "A top-level field nobody asked for locally is drift, and must be removed.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, remote: func() map[string]any {
				r := up()
				r["debug"] = true
				return r
			}()},
			want: want{State: SpecRemoteDrifted, Extra: [][]string{{"debug"}}},
		},
		"RemoteDriftedNestedExtra": {
			reason: "A nested field nobody asked for is reported by its full path.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, remote: func() map[string]any {
				r := up()
				r["parameters"].(map[string]any)["network"].(map[string]any)["subnet"] = "x"
				return r
			}()},
			want: want{State: SpecRemoteDrifted, Extra: [][]string{{"parameters", "network", "subnet"}}},
		},
		"RemoteDriftedExtrasSorted": {
			reason: "Several extras at several depths come sorted, depth first; an extra object is one path, not its leaves.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, remote: func() map[string]any {
				r := up()
				r["zeta"] = "z"
				r["alpha"] = map[string]any{"deep": map[string]any{"x": int64(1)}}
				p := r["parameters"].(map[string]any)
				p["zone"] = "b"
				p["backup"] = map[string]any{"enabled": true}
				p["network"].(map[string]any)["subnet"] = "x"
				return r
			}()},
			want: want{State: SpecRemoteDrifted, Extra: [][]string{
				{"alpha"}, {"parameters", "backup"}, {"parameters", "network", "subnet"}, {"parameters", "zone"}, {"zeta"}}},
		},
		"RemoteDriftedExtraNullValue": {
			reason: "A field present with a null value is still a field nobody asked for.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, remote: func() map[string]any {
				r := up()
				r["debug"] = nil
				return r
			}()},
			want: want{State: SpecRemoteDrifted, Extra: [][]string{{"debug"}}},
		},
		"RemoteDriftedTypeChanged": {
			reason: "An object replaced by a scalar is drift; the apply replaces it, so it is no extra path.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, remote: func() map[string]any {
				r := up()
				r["parameters"].(map[string]any)["network"] = "main"
				return r
			}()},
			want: want{State: SpecRemoteDrifted},
		},
		"RemoteDriftedListItem": {
			reason: "Lists compare whole: a changed item is drift.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, remote: func() map[string]any {
				r := up()
				r["parameters"].(map[string]any)["tags"] = []any{"a", "c"}
				return r
			}()},
			want: want{State: SpecRemoteDrifted},
		},
		"RemoteDriftedListOrder": {
			reason: "List order matters.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, remote: func() map[string]any {
				r := up()
				r["parameters"].(map[string]any)["tags"] = []any{"b", "a"}
				return r
			}()},
			want: want{State: SpecRemoteDrifted},
		},
		"RemoteDriftedListLonger": {
			reason: "An item added to a list is drift, not an extra path.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, remote: func() map[string]any {
				r := up()
				r["parameters"].(map[string]any)["tags"] = []any{"a", "b", "c"}
				return r
			}()},
			want: want{State: SpecRemoteDrifted},
		},
		"RemoteDriftedFieldInListItem": {
			reason: "Extra paths do not descend into lists: a field added inside a list item is drift without a path.",
			args: args{policy: DefaultFieldPolicy(),
				up:       map[string]any{"ports": []any{map[string]any{"port": int64(80)}}},
				lastHash: SpecHash(map[string]any{"ports": []any{map[string]any{"port": int64(80)}}}),
				remote:   map[string]any{"ports": []any{map[string]any{"port": int64(80), "name": "http"}}}},
			want: want{State: SpecRemoteDrifted},
		},
		"RemoteDriftedUserSetChosenField": {
			reason: "A chosen field the user set is the user's: a remote change is drift.",
			args: args{policy: DefaultFieldPolicy(),
				up:       map[string]any{"compositionRef": map[string]any{"name": "aws"}},
				lastHash: SpecHash(map[string]any{"compositionRef": map[string]any{"name": "aws"}}),
				remote:   map[string]any{"compositionRef": map[string]any{"name": "gcp"}}},
			want: want{State: SpecRemoteDrifted},
		},
		"RemoteDriftedExtraInUserSetChosenField": {
			reason: "Extras inside a chosen field the user set are reported.",
			args: args{policy: DefaultFieldPolicy(),
				up:       map[string]any{"compositionSelector": map[string]any{"matchLabels": map[string]any{"provider": "aws"}}},
				lastHash: SpecHash(map[string]any{"compositionSelector": map[string]any{"matchLabels": map[string]any{"provider": "aws"}}}),
				remote: map[string]any{"compositionSelector": map[string]any{"matchLabels": map[string]any{"provider": "aws", "region": "eu"}},
					"resourceRef": map[string]any{"name": "db-x1"}}},
			want: want{State: SpecRemoteDrifted, Extra: [][]string{{"compositionSelector", "matchLabels", "region"}}},
		},
		"EmptyPolicyControlPlaneFieldsAreExtra": {
			reason: "The policy is what protects Crossplane's fields: without it resourceRef would be removed.",
			args: args{policy: FieldPolicy{}, up: up(), lastHash: lastPush, remote: func() map[string]any {
				r := up()
				r["resourceRef"] = map[string]any{"name": "db-x1"}
				return r
			}()},
			want: want{State: SpecRemoteDrifted, Extra: [][]string{{"resourceRef"}}},
		},
		"InSyncCrossplaneWroteTopLevel": {
			reason: "A top-level field only Crossplane wrote (copied from the composite) is not ours to remove: no drift, no extra.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, crossplane: []Path{{"region"}},
				remote: func() map[string]any {
					r := up()
					r["region"] = "eu-1"
					return r
				}()},
			want: want{State: SpecInSync},
		},
		"InSyncCrossplaneWroteNested": {
			reason: "A value Crossplane wrote inside an object we push is left alone too.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, crossplane: []Path{{"parameters", "network", "subnet"}},
				remote: func() map[string]any {
					r := up()
					r["parameters"].(map[string]any)["network"].(map[string]any)["subnet"] = "10.0.0.0/24"
					return r
				}()},
			want: want{State: SpecInSync},
		},
		"CrossplaneWriteBesideOutOfBandEdit": {
			reason: "An out-of-band field beside Crossplane's is still drift and removed; Crossplane's stays.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, crossplane: []Path{{"region"}},
				remote: func() map[string]any {
					r := up()
					r["region"] = "eu-1"
					r["debug"] = true
					return r
				}()},
			want: want{State: SpecRemoteDrifted, Extra: [][]string{{"debug"}}},
		},
		"CrossplaneWriteOfAPushedValueIsDrift": {
			reason: "A value we push is the user's even if Crossplane wrote it: a different remote value is reverted.",
			args: args{policy: DefaultFieldPolicy(), up: up(), lastHash: lastPush, crossplane: []Path{{"parameters", "size"}},
				remote: func() map[string]any {
					r := up()
					r["parameters"].(map[string]any)["size"] = "large"
					return r
				}()},
			want: want{State: SpecRemoteDrifted},
		},
		"CrossplaneWriteLocalChanged": {
			reason: "A local change is a plain update; Crossplane's value is still not extra.",
			args: args{policy: DefaultFieldPolicy(), remote: func() map[string]any {
				r := up()
				r["region"] = "eu-1"
				return r
			}(), lastHash: lastPush, crossplane: []Path{{"region"}}, up: func() map[string]any {
				u := up()
				u["parameters"].(map[string]any)["size"] = "large"
				return u
			}()},
			want: want{State: SpecLocalChanged},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			state, extra := tc.args.policy.CompareSpec(tc.args.up, tc.args.remote, tc.args.lastHash, tc.args.crossplane)
			if diff := cmp.Diff(tc.want, want{State: state, Extra: extra}); diff != "" {
				t.Errorf("%s\nCompareSpec(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestSpecHash(t *testing.T) {
	type args struct {
		a, b map[string]any
	}
	cases := map[string]struct {
		reason string
		args   args
		want   bool // equal hashes
	}{
		"MapOrder": {
			reason: "Maps built in different orders hash the same, nested ones included.",
			args: args{
				a: map[string]any{"a": "1", "b": map[string]any{"x": int64(1), "y": []any{"p", "q"}}, "c": true},
				b: map[string]any{"c": true, "b": map[string]any{"y": []any{"p", "q"}, "x": int64(1)}, "a": "1"},
			},
			want: true,
		},
		"NumberTypes": {
			reason: "int, int64, float64 and json.Number of one integer hash the same.",
			args: args{
				a: map[string]any{"a": int64(3), "b": 3, "c": json.Number("3")},
				b: map[string]any{"a": float64(3), "b": int64(3), "c": float64(3)},
			},
			want: true,
		},
		"ValueChanged": {
			reason: "A changed value changes the hash.",
			args:   args{a: map[string]any{"a": "1"}, b: map[string]any{"a": "2"}},
			want:   false,
		},
		"StringVersusNumber": {
			reason: "A string and a number of the same digits differ.",
			args:   args{a: map[string]any{"a": "1"}, b: map[string]any{"a": int64(1)}},
			want:   false,
		},
		"ListOrder": {
			reason: "List order is part of the spec.",
			args:   args{a: map[string]any{"a": []any{"x", "y"}}, b: map[string]any{"a": []any{"y", "x"}}},
			want:   false,
		},
		"ExtraField": {
			reason: "An extra field changes the hash.",
			args:   args{a: map[string]any{"a": "1"}, b: map[string]any{"a": "1", "b": nil}},
			want:   false,
		},
		"NilVersusEmpty": {
			reason: "A nil spec and an empty one differ (null vs {}): Up never returns nil, so what sync hashes is stable.",
			args:   args{a: nil, b: map[string]any{}},
			want:   false,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ha, hb := SpecHash(tc.args.a), SpecHash(tc.args.b)
			if diff := cmp.Diff(tc.want, ha == hb); diff != "" {
				t.Errorf("%s\nSpecHash(a) == SpecHash(b) (%s, %s): -want, +got:\n%s", tc.reason, ha, hb, diff)
			}
		})
	}
}

func TestSpecHashValue(t *testing.T) {
	cases := map[string]struct {
		reason string
		spec   map[string]any
		want   string
	}{
		"Golden": {
			reason: "The hash is stored on every remote claim: changing its recipe makes every claim look changed once.",
			spec:   map[string]any{"parameters": map[string]any{"size": "small", "count": int64(2)}},
			want:   "e5fd05ca0558b481",
		},
		"Empty": {
			reason: "The hash of an empty spec (sha256 of {}) is not the empty string.",
			spec:   map[string]any{},
			want:   "44136fa355b3678a",
		},
		"Unencodable": {
			reason: "A spec JSON cannot carry (NaN) hashes to the empty string.",
			spec:   map[string]any{"a": math.NaN()},
			want:   "",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, SpecHash(tc.spec)); diff != "" {
				t.Errorf("%s\nSpecHash(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestEqualJSON(t *testing.T) {
	type args struct {
		a, b any
	}
	cases := map[string]struct {
		reason string
		args   args
		want   bool
	}{
		"NilNil":             {reason: "null equals null.", args: args{nil, nil}, want: true},
		"NilEmptyMap":        {reason: "null is not an empty object.", args: args{nil, map[string]any{}}, want: false},
		"NilEmptyList":       {reason: "null is not an empty list.", args: args{nil, []any{}}, want: false},
		"NilMapEmptyMap":     {reason: "A nil map and an empty map are both {}.", args: args{map[string]any(nil), map[string]any{}}, want: true},
		"NilListEmptyList":   {reason: "A nil list and an empty list are both [].", args: args{[]any(nil), []any{}}, want: true},
		"Strings":            {reason: "Equal strings.", args: args{"a", "a"}, want: true},
		"StringsDiffer":      {reason: "Different strings.", args: args{"a", "b"}, want: false},
		"Bools":              {reason: "Equal booleans.", args: args{true, true}, want: true},
		"BoolsDiffer":        {reason: "Different booleans.", args: args{true, false}, want: false},
		"BoolVersusString":   {reason: "true is not \"true\".", args: args{true, "true"}, want: false},
		"StringVersusNumber": {reason: "\"1\" is not 1.", args: args{"1", int64(1)}, want: false},
		"NumberVersusString": {reason: "1 is not \"1\".", args: args{int64(1), "1"}, want: false},
		"NumberVersusNil":    {reason: "0 is not null.", args: args{int64(0), nil}, want: false},
		"Int64":              {reason: "Equal int64s.", args: args{int64(7), int64(7)}, want: true},
		"Int64Differ":        {reason: "Different int64s.", args: args{int64(7), int64(8)}, want: false},
		"Int64Float64":       {reason: "An int64 equals the float64 of the same value.", args: args{int64(7), float64(7)}, want: true},
		"Int64Float64Differ": {reason: "An int64 is not a float64 with a fraction.", args: args{int64(7), 7.5}, want: false},
		"IntInt64":           {reason: "int and int64 of one value.", args: args{7, int64(7)}, want: true},
		"Int32Float64":       {reason: "int32 and float64 of one value.", args: args{int32(7), float64(7)}, want: true},
		"Float32Float64":     {reason: "float32 and float64 of one exactly representable value.", args: args{float32(0.5), 0.5}, want: true},
		"JSONNumberInt64":    {reason: "A json.Number equals the int64 of its value.", args: args{json.Number("42"), int64(42)}, want: true},
		"JSONNumberFloat":    {reason: "A json.Number equals the float64 of its value.", args: args{json.Number("0.25"), 0.25}, want: true},
		"JSONNumberBad":      {reason: "A json.Number that is no number is only equal to itself.", args: args{json.Number("x"), json.Number("x")}, want: true},
		"JSONNumberBadVsStr": {reason: "A json.Number that is no number is not the string of its text.", args: args{json.Number("x"), "x"}, want: false},
		"BigInt64Exact": {
			reason: "Two int64s compare exactly, beyond float64 precision too.",
			args:   args{int64(1<<53 + 1), int64(1 << 53)}, want: false,
		},
		"BigInt64Float64": {
			reason: "An int64 against a float64 compares as float64: beyond 2^53 neighbours are equal (a float64 cannot tell them apart).",
			args:   args{int64(1<<53 + 1), float64(1 << 53)}, want: true,
		},
		"Maps": {
			reason: "Objects with equal members, numbers by value.",
			args:   args{map[string]any{"a": int64(1), "b": map[string]any{"c": "d"}}, map[string]any{"b": map[string]any{"c": "d"}, "a": 1.0}},
			want:   true,
		},
		"MapsMissingKey": {
			reason: "Objects of the same size with different keys.",
			args:   args{map[string]any{"a": int64(1)}, map[string]any{"b": int64(1)}},
			want:   false,
		},
		"MapsNullMember": {
			reason: "A member with a null value is not a missing member.",
			args:   args{map[string]any{"a": nil}, map[string]any{}},
			want:   false,
		},
		"MapsNested": {
			reason: "A difference deep inside an object.",
			args:   args{map[string]any{"a": map[string]any{"b": []any{int64(1)}}}, map[string]any{"a": map[string]any{"b": []any{int64(2)}}}},
			want:   false,
		},
		"MapVersusList": {
			reason: "An object is not a list.",
			args:   args{map[string]any{}, []any{}},
			want:   false,
		},
		"ListVersusMap": {
			reason: "A list is not an object.",
			args:   args{[]any{}, map[string]any{}},
			want:   false,
		},
		"MapVersusString": {
			reason: "An object is not a scalar.",
			args:   args{map[string]any{}, "{}"},
			want:   false,
		},
		"Lists": {
			reason: "Lists with equal items, numbers by value.",
			args:   args{[]any{int64(1), "a", map[string]any{"b": 2.0}}, []any{1.0, "a", map[string]any{"b": int64(2)}}},
			want:   true,
		},
		"ListsOrder": {
			reason: "Lists are ordered.",
			args:   args{[]any{"a", "b"}, []any{"b", "a"}},
			want:   false,
		},
		"ListsLength": {
			reason: "Lists of different lengths.",
			args:   args{[]any{"a"}, []any{"a", "a"}},
			want:   false,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, EqualJSON(tc.args.a, tc.args.b)); diff != "" {
				t.Errorf("%s\nEqualJSON(a, b): -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want, EqualJSON(tc.args.b, tc.args.a)); diff != "" {
				t.Errorf("%s\nEqualJSON(b, a) (symmetry): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestSpecStateString(t *testing.T) {
	cases := map[string]struct {
		reason string
		s      SpecState
		want   string
	}{
		"InSync":        {reason: "Readable state names for logs.", s: SpecInSync, want: "InSync"},
		"LocalChanged":  {reason: "Readable state names for logs.", s: SpecLocalChanged, want: "LocalChanged"},
		"RemoteDrifted": {reason: "Readable state names for logs.", s: SpecRemoteDrifted, want: "RemoteDrifted"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.s.String()); diff != "" {
				t.Errorf("%s\nString(): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
