package conflict

import (
	"maps"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMetadataPolicyUpLabels(t *testing.T) {
	cases := map[string]struct {
		reason string
		policy MetadataPolicy
		in     map[string]string
		want   map[string]string
	}{
		"NilIn": {
			reason: "No labels: an empty, non-nil map (sync copies the origin marks into it).",
			policy: DefaultMetadataPolicy(),
			in:     nil,
			want:   map[string]string{},
		},
		"DefaultKeepsToolsLocal": {
			reason: "The default policy keeps ArgoCD's tracking label, the instance label and our own labels local.",
			policy: DefaultMetadataPolicy(),
			in: map[string]string{
				"app.kubernetes.io/instance":        "shop",
				"argocd.argoproj.io/instance":       "shop",
				"argocd.argoproj.io/secret-type":    "x",
				LabelClusterID:                      "app-1",
				Prefix + "anything":                 "x",
				"app.kubernetes.io/name":            "db",
				"team":                              "a",
				"sub.argocd.argoproj.io/x":          "prefix matches from the start only",
				"argocd.argoproj.io":                "the bare domain is not under the prefix",
				"app.kubernetes.io/instance-suffix": "exact entries match exactly",
			},
			want: map[string]string{
				"app.kubernetes.io/name":            "db",
				"team":                              "a",
				"sub.argocd.argoproj.io/x":          "prefix matches from the start only",
				"argocd.argoproj.io":                "the bare domain is not under the prefix",
				"app.kubernetes.io/instance-suffix": "exact entries match exactly",
			},
		},
		"EmptyPolicy": {
			reason: "An empty policy sends everything up.",
			policy: MetadataPolicy{},
			in:     map[string]string{"a": "1", Prefix + "x": "2"},
			want:   map[string]string{"a": "1", Prefix + "x": "2"},
		},
		"CaseSensitive": {
			reason: "Keys compare exactly.",
			policy: MetadataPolicy{LocalOnlyLabels: []string{"Team", "Example.com/*"}},
			in:     map[string]string{"team": "a", "example.com/x": "b"},
			want:   map[string]string{"team": "a", "example.com/x": "b"},
		},
		"StarWithoutSlashIsAPrefix": {
			reason: "Any entry ending in * is a prefix, not only one ending in /*.",
			policy: MetadataPolicy{LocalOnlyLabels: []string{"team*"}},
			in:     map[string]string{"team": "a", "team-b": "b", "teams.io/x": "c", "my-team": "d"},
			want:   map[string]string{"my-team": "d"},
		},
		"StarAlone": {
			reason: "A lone * keeps every label local.",
			policy: MetadataPolicy{LocalOnlyLabels: []string{"*"}},
			in:     map[string]string{"a": "1", "b/c": "2"},
			want:   map[string]string{},
		},
		"AnnotationPatternsDoNotApply": {
			reason: "Label patterns and annotation patterns are separate.",
			policy: MetadataPolicy{LocalOnlyAnnotations: []string{"a"}},
			in:     map[string]string{"a": "1"},
			want:   map[string]string{"a": "1"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := maps.Clone(tc.in)
			got := tc.policy.UpLabels(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nUpLabels(...): -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(in, tc.in); diff != "" {
				t.Errorf("UpLabels changed its input: -want, +got:\n%s", diff)
			}
		})
	}
}

func TestMetadataPolicyUpAnnotations(t *testing.T) {
	cases := map[string]struct {
		reason string
		policy MetadataPolicy
		in     map[string]string
		want   map[string]string
	}{
		"NilIn": {
			reason: "No annotations: an empty, non-nil map (sync adds the origin marks and the hash).",
			policy: DefaultMetadataPolicy(),
			want:   map[string]string{},
		},
		"DefaultKeepsToolsLocal": {
			reason: "kubectl's last-applied configuration, ArgoCD's and Helm's bookkeeping and our controls stay local.",
			policy: DefaultMetadataPolicy(),
			in: map[string]string{
				"kubectl.kubernetes.io/last-applied-configuration": "{}",
				"kubectl.kubernetes.io/restartedAt":                "kept: only the exact key is local",
				"argocd.argoproj.io/tracking-id":                   "x",
				"meta.helm.sh/release-name":                        "r",
				AnnotationAdopt:                                    "true",
				AnnotationDeletionPolicy:                           DeletionPolicyOrphan,
				"example.org/owner":                                "team-a",
			},
			want: map[string]string{
				"kubectl.kubernetes.io/restartedAt": "kept: only the exact key is local",
				"example.org/owner":                 "team-a",
			},
		},
		"LabelPatternsDoNotApply": {
			reason: "app.kubernetes.io/instance is a local-only label, not a local-only annotation.",
			policy: DefaultMetadataPolicy(),
			in:     map[string]string{"app.kubernetes.io/instance": "shop"},
			want:   map[string]string{"app.kubernetes.io/instance": "shop"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := maps.Clone(tc.in)
			got := tc.policy.UpAnnotations(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nUpAnnotations(...): -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(in, tc.in); diff != "" {
				t.Errorf("UpAnnotations changed its input: -want, +got:\n%s", diff)
			}
		})
	}
}

func TestMetadataPolicyWith(t *testing.T) {
	base := MetadataPolicy{LocalOnlyLabels: make([]string, 1, 8), LocalOnlyAnnotations: make([]string, 1, 8)}
	base.LocalOnlyLabels[0], base.LocalOnlyAnnotations[0] = "l0", "a0"
	type args struct {
		labels      []string
		annotations []string
	}
	cases := map[string]struct {
		reason string
		args   args
		want   MetadataPolicy
	}{
		"Nothing": {
			reason: "No extras: the same entries.",
			want:   MetadataPolicy{LocalOnlyLabels: []string{"l0"}, LocalOnlyAnnotations: []string{"a0"}},
		},
		"Both": {
			reason: "Extras are appended after the base entries.",
			args:   args{labels: []string{"l1", "team/*"}, annotations: []string{"a1"}},
			want:   MetadataPolicy{LocalOnlyLabels: []string{"l0", "l1", "team/*"}, LocalOnlyAnnotations: []string{"a0", "a1"}},
		},
		"LabelsOnly": {
			reason: "Extra labels do not become annotations.",
			args:   args{labels: []string{"l2"}},
			want:   MetadataPolicy{LocalOnlyLabels: []string{"l0", "l2"}, LocalOnlyAnnotations: []string{"a0"}},
		},
		"AnnotationsOnly": {
			reason: "Extra annotations do not become labels.",
			args:   args{annotations: []string{"a2"}},
			want:   MetadataPolicy{LocalOnlyLabels: []string{"l0"}, LocalOnlyAnnotations: []string{"a0", "a2"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := base.With(tc.args.labels, tc.args.annotations)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nWith(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
	// The base has spare capacity: With must copy, or two policies made
	// from it would share (and overwrite) one backing array.
	a := base.With([]string{"x"}, []string{"x"})
	b := base.With([]string{"y"}, []string{"y"})
	if diff := cmp.Diff([]string{"l0", "x"}, a.LocalOnlyLabels); diff != "" {
		t.Errorf("With aliased its receiver's labels: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a0", "x"}, a.LocalOnlyAnnotations); diff != "" {
		t.Errorf("With aliased its receiver's annotations: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff([]string{"l0", "y"}, b.LocalOnlyLabels); diff != "" {
		t.Errorf("With: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(MetadataPolicy{LocalOnlyLabels: []string{"l0"}, LocalOnlyAnnotations: []string{"a0"}},
		MetadataPolicy{LocalOnlyLabels: base.LocalOnlyLabels, LocalOnlyAnnotations: base.LocalOnlyAnnotations}); diff != "" {
		t.Errorf("With changed its receiver: -want, +got:\n%s", diff)
	}
}

// TestWithExtendsUp is how the command builds its policy: the defaults plus
// the --local-only-label and --local-only-annotation flags.
func TestWithExtendsUp(t *testing.T) {
	p := DefaultMetadataPolicy().With([]string{"example.org/*"}, []string{"note"})
	gotLabels := p.UpLabels(map[string]string{"example.org/a": "1", "argocd.argoproj.io/instance": "x", "keep": "2"})
	if diff := cmp.Diff(map[string]string{"keep": "2"}, gotLabels); diff != "" {
		t.Errorf("UpLabels: -want, +got:\n%s", diff)
	}
	gotAnnotations := p.UpAnnotations(map[string]string{"note": "1", "meta.helm.sh/release-name": "r", "keep": "2"})
	if diff := cmp.Diff(map[string]string{"keep": "2"}, gotAnnotations); diff != "" {
		t.Errorf("UpAnnotations: -want, +got:\n%s", diff)
	}
}
