package sync

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mcp-connector/mcp-connector/conflict"
)

func TestTransformControlPlane(t *testing.T) {
	entries := func() []metav1.ManagedFieldsEntry {
		return []metav1.ManagedFieldsEntry{
			{Manager: "crossplane", Operation: metav1.ManagedFieldsOperationUpdate, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:finalizers":{}},"f:spec":{"f:region":{}}}`)}},
			{Manager: "crossplane", Subresource: "status", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:status":{}}`)}},
			{Manager: FieldManagerUp, Operation: metav1.ManagedFieldsOperationApply, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:labels":{}}}`)}},
		}
	}
	claim := &unstructured.Unstructured{}
	claim.SetLabels(map[string]string{conflict.LabelClusterID: "app-1"})
	claim.SetManagedFields(entries())
	claim = cached(t, TransformControlPlane, claim)
	want := []metav1.ManagedFieldsEntry{{Manager: "crossplane", Operation: metav1.ManagedFieldsOperationUpdate, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:region":{}}}`)}}}
	if diff := cmp.Diff(want, claim.GetManagedFields()); diff != "" {
		t.Errorf("our remote claim keeps the spec part of its main-resource entries only: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(conflict.Owners{"crossplane": {{"region"}}}, specOwners(claim)); diff != "" {
		t.Errorf("specOwners after the transform: -want, +got:\n%s", diff)
	}
	other := &unstructured.Unstructured{}
	other.SetManagedFields(entries())
	secret := &corev1.Secret{}
	secret.SetManagedFields(entries())
	for _, obj := range []metav1.Object{other, secret} {
		if _, err := TransformControlPlane(obj); err != nil {
			t.Fatal(err)
		}
		if got := obj.GetManagedFields(); got != nil {
			t.Errorf("%T without our cluster id keeps managed fields %v, want none", obj, got)
		}
	}
}

// cached is what a cache with the transform holds of claim, as a read from
// it returns it: the transform must pack it.
func cached(t *testing.T, transform func(any) (any, error), claim *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	claim.SetAPIVersion("example.org/v1")
	claim.SetKind("Database")
	obj, err := transform(claim)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := obj.(*packedClaim)
	if !ok {
		t.Fatalf("the transform returned %T, want a packed claim", obj)
	}
	return p.DeepCopyObject().(*unstructured.Unstructured)
}

func TestDropsUpdateOwned(t *testing.T) {
	obj := func(labels map[string]string, spec map[string]any, entries ...metav1.ManagedFieldsEntry) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
		u.SetLabels(labels)
		u.SetManagedFields(entries)
		return u
	}
	created := metav1.ManagedFieldsEntry{Manager: FieldManagerUp, Operation: metav1.ManagedFieldsOperationUpdate,
		FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:size":{},"f:nodes":{"f:count":{}}}}`)}}
	applied := metav1.ManagedFieldsEntry{Manager: FieldManagerUp, Operation: metav1.ManagedFieldsOperationApply,
		FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:size":{}}}`)}}
	spec := func() map[string]any { return map[string]any{"size": "s", "nodes": map[string]any{"count": int64(1)}} }
	cases := map[string]struct {
		want, remote *unstructured.Unstructured
		drops        bool
	}{
		"applied only: the apply removes what it leaves out": {
			want: obj(nil, map[string]any{}), remote: obj(map[string]string{"a": "1"}, spec(), applied)},
		"created, same fields, another value": {
			want:   obj(map[string]string{"a": "2"}, map[string]any{"size": "m", "nodes": map[string]any{"count": int64(3)}}),
			remote: obj(map[string]string{"a": "1"}, spec(), created)},
		"created, a spec field left out": {
			want: obj(nil, map[string]any{"size": "s"}), remote: obj(nil, spec(), created), drops: true},
		"created, a nested spec field left out": {
			want: obj(nil, map[string]any{"size": "s", "nodes": map[string]any{}}), remote: obj(nil, spec(), created), drops: true},
		"created, a label left out": {
			want: obj(nil, spec()), remote: obj(map[string]string{"a": "1"}, spec(), created), drops: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := dropsUpdateOwned(tc.want, tc.remote); got != tc.drops {
				t.Errorf("dropsUpdateOwned = %v, want %v", got, tc.drops)
			}
		})
	}
}

func TestTransformLocal(t *testing.T) {
	claim := &unstructured.Unstructured{}
	claim.SetManagedFields([]metav1.ManagedFieldsEntry{
		{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:labels":{}},"f:spec":{"f:size":{},"f:resourceRef":{"f:name":{}}}}`)}},
		{Manager: FieldManagerDown, Operation: metav1.ManagedFieldsOperationApply, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:resourceRef":{}}}`)}},
		{Manager: "other", Operation: metav1.ManagedFieldsOperationApply, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:size":{}}}`)}},
		{Manager: "mcp-connector", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:status":{}}`)}},
		{Manager: FieldManagerStatus, Operation: metav1.ManagedFieldsOperationApply, Subresource: "status", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:status":{}}`)}},
		{Manager: "mcp-connector", Operation: metav1.ManagedFieldsOperationUpdate, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:finalizers":{}}}`)}},
	})
	claim = cached(t, TransformLocal, claim)
	want := []metav1.ManagedFieldsEntry{
		{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:resourceRef":{"f:name":{}}}}`)}},
		{Manager: FieldManagerDown, Operation: metav1.ManagedFieldsOperationApply, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:resourceRef":{}}}`)}},
		{Manager: "mcp-connector", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status"},
	}
	if diff := cmp.Diff(want, claim.GetManagedFields()); diff != "" {
		t.Errorf("a local claim keeps the spec part of its main-resource entries and the legacy status entries, without fields: -want, +got:\n%s", diff)
	}
	if !hasLegacyStatus(claim) {
		t.Error("hasLegacyStatus after the transform = false, want true")
	}
	if got := ownedBy(claim, FieldManagerDown); len(got) != 0 {
		t.Errorf("ownedBy after the transform = %v, want none (kubectl shares resourceRef)", got)
	}
	plain := &unstructured.Unstructured{}
	plain.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:size":{}}}`)}}})
	plain = cached(t, TransformLocal, plain)
	if got := plain.GetManagedFields(); got != nil {
		t.Errorf("a claim with nothing from the control plane keeps managed fields %v, want none", got)
	}
	secret := &corev1.Secret{}
	secret.SetManagedFields(want)
	if _, err := TransformLocal(secret); err != nil {
		t.Fatal(err)
	}
	if got := secret.GetManagedFields(); got != nil {
		t.Errorf("a Secret keeps managed fields %v, want none", got)
	}
}

// TestTransformControlPlaneCompact: the cache keeps only the manager,
// operation and field members of an entry, and the decisions read the same
// owners from it as from the full entries.
func TestTransformControlPlaneCompact(t *testing.T) {
	now := metav1.Now()
	full := func(manager string, op metav1.ManagedFieldsOperationType, fields string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, APIVersion: "example.org/v1", Time: &now,
			FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}}
	}
	cases := map[string]struct {
		entries []metav1.ManagedFieldsEntry
		want    []metav1.ManagedFieldsEntry
	}{
		"a create of ours: markers go, fields stay": {
			entries: []metav1.ManagedFieldsEntry{full(FieldManagerUp, metav1.ManagedFieldsOperationUpdate,
				`{"f:metadata":{"f:labels":{".":{},"f:a":{}}},"f:spec":{".":{},"f:size":{},"f:ref":{".":{},"f:name":{}}}}`)},
			want: []metav1.ManagedFieldsEntry{{Manager: FieldManagerUp, Operation: metav1.ManagedFieldsOperationUpdate,
				FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:ref":{"f:name":{}},"f:size":{}}}`)}}},
		},
		"list members go, the list stays": {
			entries: []metav1.ManagedFieldsEntry{full("crossplane", metav1.ManagedFieldsOperationApply,
				`{"f:spec":{"f:refs":{"k:{\"name\":\"a\"}":{".":{},"f:name":{}}},"f:tags":{"v:\"x\"":{}}}}`)},
			want: []metav1.ManagedFieldsEntry{{Manager: "crossplane", Operation: metav1.ManagedFieldsOperationApply,
				FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:refs":{},"f:tags":{}}}`)}}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			before := &unstructured.Unstructured{}
			before.SetManagedFields(tc.entries)
			claim := before.DeepCopy()
			claim.SetLabels(map[string]string{conflict.LabelClusterID: "app-1"})
			claim = cached(t, TransformControlPlane, claim)
			if diff := cmp.Diff(tc.want, claim.GetManagedFields()); diff != "" {
				t.Errorf("kept entries: -want, +got:\n%s", diff)
			}
			if diff := cmp.Diff(specOwners(before), specOwners(claim)); diff != "" {
				t.Errorf("owners read from the compact entries differ: -full, +compact:\n%s", diff)
			}
			wantPaths, wantHas := ownedByUpdate(before)
			gotPaths, gotHas := ownedByUpdate(claim)
			if diff := cmp.Diff(wantPaths, gotPaths); diff != "" || wantHas != gotHas {
				t.Errorf("ownedByUpdate differs (has %v, want %v): -full, +compact:\n%s", gotHas, wantHas, diff)
			}
		})
	}
}

// TestUnpackableClaimKeptDecoded: a claim that cannot be packed (here a
// name longer than a packed claim can split) is cached decoded, trimmed as
// a packed one would be, rather than lost.
func TestUnpackableClaimKeptDecoded(t *testing.T) {
	claim := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"size": "small"}}}
	claim.SetAPIVersion("example.org/v1")
	claim.SetKind("Database")
	claim.SetName(strings.Repeat("a", 1<<16))
	claim.SetManagedFields([]metav1.ManagedFieldsEntry{
		{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:size":{}}}`)}},
	})
	obj, err := TransformLocal(claim)
	if err != nil {
		t.Fatal(err)
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		t.Fatalf("TransformLocal returned %T, want the claim decoded", obj)
	}
	if got, _, _ := unstructured.NestedString(u.Object, "spec", "size"); got != "small" {
		t.Errorf("spec.size = %q, want small", got)
	}
	if got := u.GetManagedFields(); got != nil {
		t.Errorf("a claim with nothing from the control plane keeps managed fields %v, want none", got)
	}
}
