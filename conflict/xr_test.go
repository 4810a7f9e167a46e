package conflict

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestForXR(t *testing.T) {
	xp := func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return map[string]any{"crossplane": m}
	}
	automatic := FieldPolicy{
		Crossplane:        []string{"crossplane", "crossplane-*", FieldManagerXR},
		ControlPlanePaths: []Path{{"crossplane", "resourceRefs"}, {"crossplane", "compositionRevisionRef"}},
	}
	manual := FieldPolicy{
		Crossplane:        []string{"crossplane", "crossplane-*", FieldManagerXR},
		ControlPlanePaths: []Path{{"crossplane", "resourceRefs"}},
	}
	cases := map[string]struct {
		reason        string
		local, remote map[string]any
		want          FieldPolicy
	}{
		"Default": {
			reason: "No update policy anywhere: Automatic, so Crossplane owns resourceRefs and compositionRevisionRef; no claim field is named.",
			want:   automatic,
		},
		"LocalAutomatic": {
			reason: "Automatic set locally: the revision ref is the control plane's.",
			local:  xp("compositionUpdatePolicy", "Automatic"), remote: xp("compositionUpdatePolicy", "Manual"),
			want: automatic,
		},
		"LocalManual": {
			reason: "Manual locally: the user's compositionRevisionRef is a pin and goes up; resourceRefs stays the control plane's.",
			local:  xp("compositionUpdatePolicy", "Manual"),
			want:   manual,
		},
		"RemoteManual": {
			reason: "No local policy: the remote one decides.",
			remote: xp("compositionUpdatePolicy", "Manual"),
			want:   manual,
		},
		"EmptyLocalFallsBack": {
			reason: "An empty local policy is no policy.",
			local:  xp("compositionUpdatePolicy", ""), remote: xp("compositionUpdatePolicy", "Manual"),
			want: manual,
		},
		"NotAnObject": {
			reason: "spec.crossplane that is not an object: no policy, Automatic.",
			local:  map[string]any{"crossplane": "x"},
			want:   automatic,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := DefaultFieldPolicy().ForXR(tc.local, tc.remote)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nForXR(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestXRPolicyUpDownCompare(t *testing.T) {
	refs := []any{map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "db-cm"}}
	local := map[string]any{
		"size": "small",
		"crossplane": map[string]any{
			"compositionSelector":     map[string]any{"matchLabels": map[string]any{"tier": "dev"}},
			"compositionUpdatePolicy": "Automatic",
			"resourceRefs":            []any{},
			"compositionRevisionRef":  map[string]any{"name": "stale"},
		},
	}
	remote := map[string]any{
		"size": "small",
		"crossplane": map[string]any{
			"compositionSelector":     map[string]any{"matchLabels": map[string]any{"tier": "dev"}},
			"compositionUpdatePolicy": "Automatic",
			"resourceRefs":            refs,
			"compositionRevisionRef":  map[string]any{"name": "db-abc12"},
		},
	}
	p := DefaultFieldPolicy().ForXR(local, remote)
	up := p.Up(local, nil)
	wantUp := map[string]any{
		"size": "small",
		"crossplane": map[string]any{
			"compositionSelector":     map[string]any{"matchLabels": map[string]any{"tier": "dev"}},
			"compositionUpdatePolicy": "Automatic",
		},
	}
	if diff := cmp.Diff(wantUp, up); diff != "" {
		t.Errorf("Up: resourceRefs and an Automatic revision ref never go up, the selector does: -want, +got:\n%s", diff)
	}
	if _, ok := local["crossplane"].(map[string]any)["resourceRefs"]; !ok {
		t.Errorf("Up modified its input")
	}
	if diff := cmp.Diff([]Path{{"crossplane", "resourceRefs"}, {"crossplane", "compositionRevisionRef"}}, p.ControlPlaneIn(remote)); diff != "" {
		t.Errorf("ControlPlaneIn: -want, +got:\n%s", diff)
	}
	if got := p.ControlPlaneIn(map[string]any{"size": "small"}); got != nil {
		t.Errorf("ControlPlaneIn of a spec without them: want none, got %v", got)
	}
	if state, extra := p.CompareSpec(up, remote, SpecHash(up), nil); state != SpecInSync || extra != nil {
		t.Errorf("CompareSpec: Crossplane's resourceRefs and revision ref are neither drift nor extra: got %v, %v", state, extra)
	}
	drifted := map[string]any{"size": "large", "crossplane": remote["crossplane"]}
	if state, _ := p.CompareSpec(up, drifted, SpecHash(up), nil); state != SpecRemoteDrifted {
		t.Errorf("CompareSpec: a user field changed remotely is drift: got %v", state)
	}
	pinned := DefaultFieldPolicy().ForXR(map[string]any{"crossplane": map[string]any{
		"compositionUpdatePolicy": "Manual", "compositionRevisionRef": map[string]any{"name": "db-abc12"}}}, nil)
	got := pinned.Up(map[string]any{"crossplane": map[string]any{
		"compositionUpdatePolicy": "Manual", "compositionRevisionRef": map[string]any{"name": "db-abc12"}, "resourceRefs": refs}}, nil)
	want := map[string]any{"crossplane": map[string]any{
		"compositionUpdatePolicy": "Manual", "compositionRevisionRef": map[string]any{"name": "db-abc12"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Up under Manual: the pin goes up, resourceRefs does not: -want, +got:\n%s", diff)
	}
}
