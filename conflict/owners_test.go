package conflict

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOwnersAdd(t *testing.T) {
	o := Owners{}
	o.Add("crossplane", []byte(`{"f:metadata":{"f:finalizers":{}},"f:spec":{".":{},"f:region":{},"f:tags":{"v:\"a\"":{}},"f:derived":{".":{},"f:a":{}}}}`))
	o.Add("crossplane", []byte(`{"f:spec":{"f:resourceRef":{}}}`))
	o.Add("kubectl", []byte(`not json`))
	o.Add("status", []byte(`{"f:status":{}}`))
	want := Owners{"crossplane": {{"derived"}, {"derived", "a"}, {"region"}, {"tags"}, {"resourceRef"}}}
	if diff := cmp.Diff(want, o); diff != "" {
		t.Errorf("Add: only f:spec field nodes, lists whole, bad JSON and other roots ignored: -want, +got:\n%s", diff)
	}
}

// AddFields reads a decoded fieldsV1 as Add reads its JSON.
func TestOwnersAddFields(t *testing.T) {
	entries := map[string]string{
		"Nested":      `{"f:metadata":{"f:finalizers":{}},"f:spec":{".":{},"f:region":{},"f:tags":{"v:\"a\"":{}},"f:derived":{".":{},"f:a":{}}}}`,
		"Shallow":     `{"f:spec":{"f:resourceRef":{}}}`,
		"NoSpec":      `{"f:status":{}}`,
		"EmptySpec":   `{"f:spec":{}}`,
		"SpecNotNode": `{"f:spec":"x"}`,
		"Deep":        `{"f:spec":{"f:a":{"f:b":{"f:c":{"k:{\"name\":\"x\"}":{"f:d":{}}}}}}}`,
	}
	for name, raw := range entries {
		t.Run(name, func(t *testing.T) {
			var decoded map[string]any
			if err := json.Unmarshal([]byte(raw), &decoded); err != nil {
				t.Fatal(err)
			}
			want, got := Owners{}, Owners{}
			want.Add("m", []byte(raw))
			got.AddFields("m", decoded)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("AddFields(%s) differs from Add: -Add, +AddFields:\n%s", raw, diff)
			}
		})
	}
}

func TestOwnersSole(t *testing.T) {
	spec := map[string]any{
		"parameters": map[string]any{"size": "s", "zone": "z"},
		"region":     "eu",
		"derived":    map[string]any{"a": int64(1)},
		"nobody":     "x",
		"shared":     "y",
	}
	o := Owners{
		"crossplane":    {{"region"}, {"derived"}, {"derived", "a"}, {"parameters", "zone"}, {"shared"}},
		"mcp-connector": {{"parameters", "size"}, {"shared"}},
	}
	cases := map[string]struct {
		reason string
		set    []string
		want   []Path
	}{
		"Crossplane": {
			reason: "Largest subtrees only Crossplane owns; mixed objects are descended; shared values and unowned ones are not listed.",
			set:    []string{"crossplane"},
			want:   []Path{{"derived"}, {"parameters", "zone"}, {"region"}},
		},
		"Ours": {
			reason: "The same for another manager.",
			set:    []string{"mcp-connector"},
			want:   []Path{{"parameters", "size"}},
		},
		"Both": {
			reason: "A set of managers counts as one.",
			set:    []string{"crossplane", "mcp-connector"},
			want:   []Path{{"derived"}, {"parameters"}, {"region"}, {"shared"}},
		},
		"None": {
			reason: "No manager: nothing.",
			want:   nil,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, o.Sole(spec, tc.set)); diff != "" {
				t.Errorf("%s\nSole: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestCrossplaneWrites(t *testing.T) {
	remote := map[string]any{
		"parameters":             map[string]any{"size": "s", "zone": "z"},
		"region":                 "eu",
		"resourceRef":            map[string]any{"name": "x"},
		"compositionRef":         map[string]any{"name": "c"},
		"compositionRevisionRef": map[string]any{"name": "c-1"},
		"debug":                  true,
	}
	owners := Owners{
		"crossplane":          {{"region"}, {"parameters", "zone"}, {"resourceRef"}, {"compositionRef"}, {"compositionRevisionRef"}},
		"mcp-connector":       {{"parameters", "size"}},
		"kubectl-edit":        {{"debug"}},
		"crossplane-v1.20.13": {{"version"}},
		"crossplanex":         {{"other"}},
	}
	remote["version"], remote["other"] = "v1", "x"
	want := []Path{{"parameters", "zone"}, {"region"}, {"version"}}
	if diff := cmp.Diff(want, DefaultFieldPolicy().CrossplaneWrites(remote, owners)); diff != "" {
		t.Errorf("CrossplaneWrites: Crossplane's values less the fields with rules of their own; kubectl's edit is not Crossplane's: -want, +got:\n%s", diff)
	}
	if got := (FieldPolicy{}).CrossplaneWrites(remote, owners); got != nil {
		t.Errorf("CrossplaneWrites with no Crossplane managers = %v, want nil", got)
	}
}

func TestForClaim(t *testing.T) {
	def := DefaultFieldPolicy()
	manual := FieldPolicy{
		ControlPlane: []string{"resourceRef"},
		Chosen: []string{"compositionRef", "compositionSelector", "compositionRevisionSelector",
			"compositionUpdatePolicy", "compositeDeletePolicy", "compositionRevisionRef"},
		Crossplane: []string{"crossplane", "crossplane-*"},
	}
	cases := map[string]struct {
		reason        string
		local, remote map[string]any
		want          FieldPolicy
	}{
		"Default": {
			reason: "No policy anywhere: Crossplane's default Automatic, the revision is Crossplane's.",
			want:   def,
		},
		"LocalAutomatic": {
			reason: "Automatic: the revision is Crossplane's.",
			local:  map[string]any{"compositionUpdatePolicy": "Automatic"}, remote: map[string]any{"compositionUpdatePolicy": "Manual"},
			want: def,
		},
		"LocalManual": {
			reason: "Manual: the revision is the user's pin, a chosen field.",
			local:  map[string]any{"compositionUpdatePolicy": "Manual"}, remote: map[string]any{"compositionUpdatePolicy": "Automatic"},
			want: manual,
		},
		"RemoteManual": {
			reason: "No local policy: the remote one decides.",
			remote: map[string]any{"compositionUpdatePolicy": "Manual"},
			want:   manual,
		},
		"NotAString": {
			reason: "A policy that is not a string counts as unset.",
			local:  map[string]any{"compositionUpdatePolicy": int64(1)},
			want:   def,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, def.ForClaim(tc.local, tc.remote)); diff != "" {
				t.Errorf("%s\nForClaim: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
	if diff := cmp.Diff(DefaultFieldPolicy(), def); diff != "" {
		t.Errorf("ForClaim changed the policy it was called on: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(manual, manual.ForClaim(map[string]any{"compositionUpdatePolicy": "Manual"}, nil)); diff != "" {
		t.Errorf("ForClaim on a policy without the revision in ControlPlane adds nothing: -want, +got:\n%s", diff)
	}
}

func TestUpPaths(t *testing.T) {
	local := map[string]any{
		"parameters":     map[string]any{"size": "s", "zone": "z"},
		"region":         "eu",
		"resourceRef":    map[string]any{"name": "x"},
		"compositionRef": map[string]any{"name": "c"},
	}
	cases := map[string]struct {
		reason string
		fromCP []Path
		want   map[string]any
	}{
		"NothingCameDown": {
			reason: "Everything but the control-plane fields goes up.",
			want: map[string]any{"parameters": map[string]any{"size": "s", "zone": "z"}, "region": "eu",
				"compositionRef": map[string]any{"name": "c"}},
		},
		"CrossplaneWritesStay": {
			reason: "Values that came down from Crossplane's writes stay behind, at any depth; chosen fields that came down too.",
			fromCP: []Path{{"compositionRef"}, {"parameters", "zone"}, {"region"}, {"resourceRef"}},
			want:   map[string]any{"parameters": map[string]any{"size": "s"}},
		},
		"ChosenPartlyOurs": {
			reason: "A chosen field only partly written by us is the user's and goes up whole.",
			fromCP: []Path{{"compositionRef", "name"}},
			want: map[string]any{"parameters": map[string]any{"size": "s", "zone": "z"}, "region": "eu",
				"compositionRef": map[string]any{"name": "c"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, DefaultFieldPolicy().UpPaths(local, tc.fromCP)); diff != "" {
				t.Errorf("%s\nUpPaths: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
	if _, ok := local["parameters"].(map[string]any)["zone"]; !ok {
		t.Error("UpPaths modified the local spec")
	}
}

func TestDownWritten(t *testing.T) {
	local := map[string]any{"parameters": map[string]any{"size": "s"}, "region": "eu", "derived": map[string]any{"a": int64(1)}}
	cases := map[string]struct {
		reason     string
		crossplane []Path
		fromCP     []Path
		want       []Path
	}{
		"AbsentLocally": {
			reason:     "A Crossplane write the local claim lacks comes down, inside a user object too.",
			crossplane: []Path{{"parameters", "zone"}, {"other"}},
			want:       []Path{{"parameters", "zone"}, {"other"}},
		},
		"UserSet": {
			reason:     "A value the user set locally stays the user's.",
			crossplane: []Path{{"region"}, {"parameters", "size"}},
			want:       nil,
		},
		"CameDownBefore": {
			reason:     "A value that came down before keeps coming down (and is updated), also inside an object that came down.",
			crossplane: []Path{{"region"}, {"derived", "a"}},
			fromCP:     []Path{{"region"}, {"derived"}},
			want:       []Path{{"region"}, {"derived", "a"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, DownWritten(local, tc.crossplane, tc.fromCP)); diff != "" {
				t.Errorf("%s\nDownWritten: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestPathHelpers(t *testing.T) {
	m := map[string]any{"a": map[string]any{"b": "c"}, "l": []any{"x"}}
	if v, ok := Get(m, Path{"a", "b"}); !ok || v != "c" {
		t.Errorf("Get a.b = %v, %t; want c, true", v, ok)
	}
	if _, ok := Get(m, Path{"l", "0"}); ok {
		t.Error("Get descended into a list")
	}
	got := Without(m, []Path{{"a", "b"}, {"missing", "x"}, {"l", "x"}})
	if diff := cmp.Diff(map[string]any{"a": map[string]any{}, "l": []any{"x"}}, got); diff != "" {
		t.Errorf("Without: -want, +got:\n%s", diff)
	}
	if _, ok := Get(m, Path{"a", "b"}); !ok {
		t.Error("Without modified its input")
	}
	Set(m, Path{"a", "d", "e"}, "f")
	if v, _ := Get(m, Path{"a", "d", "e"}); v != "f" {
		t.Errorf("Set a.d.e: got %v", v)
	}
}

func TestReleased(t *testing.T) {
	remote := map[string]any{"compositionRevisionRef": map[string]any{"name": "c-1"}, "resourceRef": map[string]any{"name": "x"}}
	ours := Owners{"mcp-connector": {{"compositionRevisionRef", "name"}, {"resourceRef", "name"}}, "crossplane": {{"compositionRevisionRef"}}}
	manual := map[string]any{"compositionUpdatePolicy": "Manual"}
	cases := map[string]struct {
		reason string
		policy FieldPolicy
		remote map[string]any
		owners Owners
		want   [][]string
	}{
		"PinnedBeforeNowAutomatic": {
			reason: "Our pin under Automatic is removed so Crossplane sets it again; resourceRef never is, even if we own it.",
			policy: DefaultFieldPolicy(), remote: remote, owners: ours,
			want: [][]string{{"compositionRevisionRef"}},
		},
		"Manual": {
			reason: "Under Manual the pin is ours to push: nothing released.",
			policy: DefaultFieldPolicy().ForClaim(manual, nil), remote: remote, owners: ours,
		},
		"CrossplaneAlone": {
			reason: "Crossplane's own revision is left alone.",
			policy: DefaultFieldPolicy(), remote: remote, owners: Owners{"crossplane": {{"compositionRevisionRef"}, {"compositionRevisionRef", "name"}}},
		},
		"Absent": {
			reason: "Nothing remote, nothing to release.",
			policy: DefaultFieldPolicy(), remote: map[string]any{}, owners: ours,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.policy.Released(tc.remote, tc.owners, "mcp-connector")); diff != "" {
				t.Errorf("%s\nReleased: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
