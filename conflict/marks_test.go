package conflict

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOriginMarks(t *testing.T) {
	o := Origin{ClusterID: "app-1", Namespace: "team-a", Name: "db", UID: "uid-1"}
	type want struct {
		Labels      map[string]string
		Annotations map[string]string
	}
	cases := map[string]struct {
		reason string
		origin Origin
		want   want
	}{
		"Complete": {
			reason: "Labels carry the cluster id and claim namespace (label-sized), annotations carry everything.",
			origin: o,
			want: want{
				Labels: map[string]string{LabelClusterID: "app-1", LabelClaimNamespace: "team-a"},
				Annotations: map[string]string{AnnotationClusterID: "app-1", AnnotationClaimNamespace: "team-a",
					AnnotationClaimName: "db", AnnotationClaimUID: "uid-1"},
			},
		},
		"Zero": {
			reason: "A zero origin still yields every key, with empty values.",
			origin: Origin{},
			want: want{
				Labels:      map[string]string{LabelClusterID: "", LabelClaimNamespace: ""},
				Annotations: map[string]string{AnnotationClusterID: "", AnnotationClaimNamespace: "", AnnotationClaimName: "", AnnotationClaimUID: ""},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := want{Labels: tc.origin.Labels(), Annotations: tc.origin.Annotations()}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nmarks: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestOriginOf(t *testing.T) {
	o := Origin{ClusterID: "app-1", Namespace: "team-a", Name: "db", UID: "uid-1"}
	type args struct {
		labels      map[string]string
		annotations map[string]string
	}
	type want struct {
		Origin Origin
		OK     bool
	}
	cases := map[string]struct {
		reason string
		args   args
		want   want
	}{
		"RoundTrip": {
			reason: "The marks written by Labels and Annotations read back as the same origin.",
			args:   args{labels: o.Labels(), annotations: o.Annotations()},
			want:   want{Origin: o, OK: true},
		},
		"NoUID": {
			reason: "The uid is informative only: marks without it are complete.",
			args: args{labels: o.Labels(), annotations: map[string]string{
				AnnotationClaimNamespace: "team-a", AnnotationClaimName: "db"}},
			want: want{Origin: Origin{ClusterID: "app-1", Namespace: "team-a", Name: "db"}, OK: true},
		},
		"ClusterIDFromLabelOnly": {
			reason: "The cluster id is read from the label; the annotation copy is for readers only.",
			args: args{labels: map[string]string{LabelClusterID: "app-1"}, annotations: map[string]string{
				AnnotationClusterID: "app-2", AnnotationClaimNamespace: "team-a", AnnotationClaimName: "db"}},
			want: want{Origin: Origin{ClusterID: "app-1", Namespace: "team-a", Name: "db"}, OK: true},
		},
		"NamespaceFromAnnotationOnly": {
			reason: "The claim namespace is read from the annotation, not from the label.",
			args: args{labels: map[string]string{LabelClusterID: "app-1", LabelClaimNamespace: "team-a"},
				annotations: map[string]string{AnnotationClaimName: "db"}},
			want: want{Origin: Origin{ClusterID: "app-1", Name: "db"}, OK: false},
		},
		"NoClusterLabel": {
			reason: "Annotations alone (an orphaned remote claim keeps them) are not a complete set of marks.",
			args:   args{annotations: o.Annotations()},
			want:   want{Origin: Origin{Namespace: "team-a", Name: "db", UID: "uid-1"}, OK: false},
		},
		"NoName": {
			reason: "Without the claim name the marks are incomplete.",
			args:   args{labels: o.Labels(), annotations: map[string]string{AnnotationClaimNamespace: "team-a"}},
			want:   want{Origin: Origin{ClusterID: "app-1", Namespace: "team-a"}, OK: false},
		},
		"Nil": {
			reason: "No metadata at all is no origin.",
			want:   want{OK: false},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o, ok := OriginOf(tc.args.labels, tc.args.annotations)
			if diff := cmp.Diff(tc.want, want{Origin: o, OK: ok}); diff != "" {
				t.Errorf("%s\nOriginOf(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
