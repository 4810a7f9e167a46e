package orphan

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mcp-connector/mcp-connector/conflict"
)

func TestImportCandidate(t *testing.T) {
	origin := map[string]string{
		conflict.AnnotationClusterID:      "c1",
		conflict.AnnotationClaimNamespace: "team-a",
		conflict.AnnotationClaimName:      "db",
		conflict.AnnotationOrphaned:       OrphanedByUninstall,
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for k2, v2 := range origin {
			m[k2] = v2
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cases := map[string]struct {
		labels, annotations map[string]string
		clusterID           string
		want                bool
	}{
		"OrphanedByUninstall":   {annotations: origin, clusterID: "c1", want: true},
		"StillLabelled":         {labels: map[string]string{conflict.LabelClusterID: "c1"}, annotations: origin, clusterID: "c1"},
		"OrphanedByClaimDelete": {annotations: with(conflict.AnnotationOrphaned, "claim-deleted"), clusterID: "c1"},
		"NotOrphaned":           {annotations: with(conflict.AnnotationOrphaned, ""), clusterID: "c1"},
		"OtherCluster":          {annotations: origin, clusterID: "c2"},
		"NoClusterID":           {annotations: origin, clusterID: ""},
		"NoNamespace":           {annotations: with(conflict.AnnotationClaimNamespace, ""), clusterID: "c1"},
		"NoName":                {annotations: with(conflict.AnnotationClaimName, ""), clusterID: "c1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o, got := ImportCandidate(tc.labels, tc.annotations, tc.clusterID)
			if got != tc.want {
				t.Fatalf("ImportCandidate(...) = %t, want %t", got, tc.want)
			}
			if got {
				want := conflict.Origin{ClusterID: "c1", Namespace: "team-a", Name: "db"}
				if diff := cmp.Diff(want, o); diff != "" {
					t.Errorf("origin (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestPushedSpec(t *testing.T) {
	p := conflict.DefaultFieldPolicy()
	user := map[string]any{"nodes": map[string]any{"count": int64(3)}, "writeConnectionSecretToRef": map[string]any{"name": "db-x"}}
	userWithSelector := map[string]any{"nodes": user["nodes"], "writeConnectionSecretToRef": user["writeConnectionSecretToRef"],
		"compositionSelector": map[string]any{"matchLabels": map[string]any{"tier": "gold"}}}
	remote := func(extra map[string]any) map[string]any {
		out := map[string]any{
			"resourceRef":             map[string]any{"name": "db-abc"},
			"compositionRef":          map[string]any{"name": "nop"},
			"compositionUpdatePolicy": "Automatic",
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	cases := map[string]struct {
		remote map[string]any
		hash   string
		want   map[string]any
	}{
		"NoChosenFieldSetLocally": {remote: remote(user), hash: conflict.SpecHash(user), want: user},
		"ChosenFieldSetLocally":   {remote: remote(userWithSelector), hash: conflict.SpecHash(userWithSelector), want: userWithSelector},
		"ChosenValueFromUser": {remote: remote(user), hash: conflict.SpecHash(map[string]any{"nodes": user["nodes"],
			"writeConnectionSecretToRef": user["writeConnectionSecretToRef"], "compositionRef": map[string]any{"name": "nop"}}),
			want: map[string]any{"nodes": user["nodes"], "writeConnectionSecretToRef": user["writeConnectionSecretToRef"], "compositionRef": map[string]any{"name": "nop"}}},
		"DriftedDropsChosen": {remote: remote(userWithSelector), hash: "stale", want: user},
		"NoHashDropsChosen":  {remote: remote(user), hash: "", want: user},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, PushedSpec(tc.remote, p, tc.hash)); diff != "" {
				t.Errorf("PushedSpec (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPushedSpecXR(t *testing.T) {
	refs := []any{map[string]any{"apiVersion": "v1", "kind": "Secret", "name": "db-conn"}}
	pushed := map[string]any{"size": "small", "crossplane": map[string]any{"compositionUpdatePolicy": "Automatic"}}
	cases := map[string]struct {
		reason string
		remote map[string]any
		want   map[string]any
	}{
		"Automatic": {
			reason: "resourceRefs and the Automatic revision ref are Crossplane's: left behind; what was pushed is recovered.",
			remote: map[string]any{"size": "small", "crossplane": map[string]any{"compositionUpdatePolicy": "Automatic",
				"resourceRefs": refs, "compositionRevisionRef": map[string]any{"name": "rev-1"}}},
			want: pushed,
		},
		"ManualPin": {
			reason: "Under Manual the revision ref was the user's pin: recovered.",
			remote: map[string]any{"crossplane": map[string]any{"compositionUpdatePolicy": "Manual",
				"resourceRefs": refs, "compositionRevisionRef": map[string]any{"name": "rev-1"}}},
			want: map[string]any{"crossplane": map[string]any{"compositionUpdatePolicy": "Manual",
				"compositionRevisionRef": map[string]any{"name": "rev-1"}}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := conflict.DefaultFieldPolicy().ForXR(tc.remote, tc.remote)
			if diff := cmp.Diff(tc.want, PushedSpec(tc.remote, p, conflict.SpecHash(tc.want))); diff != "" {
				t.Errorf("%s\nPushedSpec (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestLocalCopy(t *testing.T) {
	gvk := schema.GroupVersionKind{Group: "k8s.starter.org", Version: "v1alpha1", Kind: "KubernetesCluster"}
	spec := map[string]any{"nodes": map[string]any{"count": int64(2)}, "writeConnectionSecretToRef": map[string]any{"name": "db-remotesecret"}}
	remote := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"nodes": spec["nodes"], "writeConnectionSecretToRef": spec["writeConnectionSecretToRef"],
		"resourceRef": map[string]any{"name": "xr"}, "compositionRef": map[string]any{"name": "nop"},
	}}}
	remote.SetGroupVersionKind(gvk)
	remote.SetNamespace("cp-ns")
	remote.SetName("db-hash")
	remote.SetUID("remote-uid-1")
	remote.SetLabels(map[string]string{"team": "a", conflict.LabelClaimNamespace: "team-a"})
	annotations := map[string]string{"note": "kept", conflict.AnnotationClusterID: "c1", conflict.AnnotationClaimNamespace: "team-a",
		conflict.AnnotationClaimName: "db", conflict.AnnotationSpecHash: conflict.SpecHash(spec),
		conflict.AnnotationOrphaned: OrphanedByUninstall}
	origin := conflict.Origin{ClusterID: "c1", Namespace: "team-a", Name: "db"}

	cases := map[string]struct {
		recorded   string
		wantSecret string
	}{
		"RecordedSecretName": {recorded: "db-kubeconfig", wantSecret: "db-kubeconfig"},
		"NoRecordedName":     {wantSecret: "db-remotesecret"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := remote.DeepCopy()
			a := map[string]string{}
			for k, v := range annotations {
				a[k] = v
			}
			if tc.recorded != "" {
				a[AnnotationLocalSecretName] = tc.recorded
			}
			r.SetAnnotations(a)
			got := LocalCopy(r, origin, conflict.DefaultFieldPolicy(), conflict.DefaultMetadataPolicy(), gvk)
			want := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
				"nodes": spec["nodes"], "writeConnectionSecretToRef": map[string]any{"name": tc.wantSecret}}}}
			want.SetGroupVersionKind(gvk)
			want.SetNamespace("team-a")
			want.SetName("db")
			want.SetLabels(map[string]string{"team": "a"})
			want.SetAnnotations(map[string]string{"note": "kept", conflict.AnnotationImportedFrom: "remote-uid-1"})
			if diff := cmp.Diff(want.Object, got.Object); diff != "" {
				t.Errorf("LocalCopy (-want +got):\n%s", diff)
			}
			if r.Object["spec"].(map[string]any)["writeConnectionSecretToRef"].(map[string]any)["name"] != "db-remotesecret" {
				t.Error("LocalCopy changed the remote object")
			}
		})
	}
}

func TestOrphanPatch(t *testing.T) {
	cases := map[string]struct {
		secret string
		want   string
	}{
		"WithSecret": {secret: "db-kubeconfig", want: `{"metadata":{"annotations":{"mcp-connector.io/claim-secret-name":"db-kubeconfig","mcp-connector.io/orphaned":"uninstalled"},"labels":{"mcp-connector.io/cluster-id":null}}}`},
		"NoSecret":   {want: `{"metadata":{"annotations":{"mcp-connector.io/claim-secret-name":null,"mcp-connector.io/orphaned":"uninstalled"},"labels":{"mcp-connector.io/cluster-id":null}}}`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := OrphanPatch(tc.secret)
			if err != nil {
				t.Fatal(err)
			}
			checkJSON(t, tc.want, got)
		})
	}
}

func TestReleasePatch(t *testing.T) {
	// The label and the origin annotations are the push's: the release
	// removes only what the uninstall added.
	checkJSON(t, `{"metadata":{"annotations":{"mcp-connector.io/claim-secret-name":null,"mcp-connector.io/orphaned":null}}}`, ReleasePatch())
}

// checkJSON compares two JSON documents by value.
func checkJSON(t *testing.T, want string, got []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("patch %s: %v", got, err)
	}
	_ = json.Unmarshal([]byte(want), &w)
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("patch (-want +got):\n%s", diff)
	}
}
