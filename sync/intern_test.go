package sync

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync/condition"
)

// remoteClaimJSON is a remote claim as the control plane serves it: our
// marks, Crossplane's defaults, a status and three managedFields entries.
func remoteClaimJSON(i int) []byte {
	return []byte(fmt.Sprintf(`{"apiVersion":"bench.example.org/v1alpha1","kind":"Database",
"metadata":{"name":"claim-%05d-4f2a1c","namespace":"team-a","uid":"0000%04d-9d7c-4a5e-8a43-6c1f0e2b3a4d","resourceVersion":"%d","generation":1,
 "creationTimestamp":"2026-12-01T21:00:00Z","finalizers":["finalizer.apiextensions.crossplane.io"],
 "labels":{%q:"6c1f0e2b-3a4d-4a5e-8a43-9d7c00000000",%q:"bench-3"},
 "annotations":{%q:"bench-3",%q:"claim-%05d",%q:"0000%04d-1111-4a5e-8a43-6c1f0e2b3a4d"},
 "managedFields":[
  {"manager":"mcp-connector","operation":"Update","apiVersion":"bench.example.org/v1alpha1","time":"2026-12-01T21:00:00Z","fieldsType":"FieldsV1",
   "fieldsV1":{"f:metadata":{"f:labels":{".":{}}},"f:spec":{".":{},"f:replicas":{},"f:size":{},"f:writeConnectionSecretToRef":{".":{},"f:name":{}}}}},
  {"manager":"mcp-connector","operation":"Apply","apiVersion":"bench.example.org/v1alpha1","time":"2026-12-01T21:00:01Z","fieldsType":"FieldsV1",
   "fieldsV1":{"f:spec":{"f:replicas":{},"f:size":{},"f:writeConnectionSecretToRef":{"f:name":{}}}}},
  {"manager":"crossplane","operation":"Update","subresource":"status","apiVersion":"bench.example.org/v1alpha1","time":"2026-12-01T21:00:02Z","fieldsType":"FieldsV1",
   "fieldsV1":{"f:status":{"f:conditions":{}}}}]},
"spec":{"size":"small","replicas":%d,"compositionUpdatePolicy":"Automatic","compositeDeletePolicy":"Background",
 "writeConnectionSecretToRef":{"name":"claim-%05d-4f2a1c"}},
"status":{"conditions":[{"type":"Synced","status":"True","reason":"ReconcileSuccess","lastTransitionTime":"2026-12-01T21:00:02Z"},
 {"type":"Ready","status":"True","reason":"Available","lastTransitionTime":"2026-12-01T21:00:03Z"}]}}`,
		i, i, 1000+i, conflict.LabelClusterID, conflict.LabelClaimNamespace,
		conflict.AnnotationClaimNamespace, conflict.AnnotationClaimName, i, conflict.AnnotationClaimUID, i, i%3, i))
}

func decodeClaim(t testing.TB, raw []byte) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		t.Fatal(err)
	}
	return u
}

// sameString says whether a and b are one string in memory.
func sameString(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

// keyOf returns m's own copy of key k.
func keyOf(m map[string]any, k string) string {
	for key := range m {
		if key == k {
			return key
		}
	}
	return ""
}

// A claim goes into a cache packed: a read from the cache returns the claim
// as it was (with only its kept managedFields), the metadata the handlers
// read is the claim's, and what repeats across claims is held once.
func TestTransformsPackClaims(t *testing.T) {
	pk := func(raw []byte) *packedClaim {
		t.Helper()
		obj, err := TransformControlPlane(decodeClaim(t, raw))
		if err != nil {
			t.Fatal(err)
		}
		p, ok := obj.(*packedClaim)
		if !ok {
			t.Fatalf("the transform returned %T, want a packed claim", obj)
		}
		return p
	}
	a, b := pk(remoteClaimJSON(1)), pk(remoteClaimJSON(2))

	want := decodeClaim(t, remoteClaimJSON(1))
	kept, err := TransformControlPlane(decodeClaim(t, remoteClaimJSON(1)))
	if err != nil {
		t.Fatal(err)
	}
	want.SetManagedFields(kept.(metav1.Object).GetManagedFields())
	got := a.DeepCopyObject().(*unstructured.Unstructured)
	if diff := cmp.Diff(want.Object, got.Object); diff != "" {
		t.Errorf("a read of the packed claim differs from the claim with its kept managedFields: -want +got:\n%s", diff)
	}
	if len(want.GetManagedFields()) != 2 {
		t.Errorf("kept %d managedFields entries, want the 2 with spec fields", len(want.GetManagedFields()))
	}

	// Every getter answers what the claim says.
	var m metav1.Object = a
	for name, v := range map[string][2]any{
		"name":              {m.GetName(), want.GetName()},
		"namespace":         {m.GetNamespace(), want.GetNamespace()},
		"uid":               {m.GetUID(), want.GetUID()},
		"resourceVersion":   {m.GetResourceVersion(), want.GetResourceVersion()},
		"generation":        {m.GetGeneration(), want.GetGeneration()},
		"creationTimestamp": {m.GetCreationTimestamp(), want.GetCreationTimestamp()},
		"deletionTimestamp": {m.GetDeletionTimestamp(), want.GetDeletionTimestamp()},
		"labels":            {m.GetLabels(), want.GetLabels()},
		"annotations":       {m.GetAnnotations(), want.GetAnnotations()},
		"finalizers":        {m.GetFinalizers(), want.GetFinalizers()},
		"ownerReferences":   {m.GetOwnerReferences(), want.GetOwnerReferences()},
		"managedFields":     {m.GetManagedFields(), want.GetManagedFields()},
		"kind":              {a.GetObjectKind().GroupVersionKind(), want.GroupVersionKind()},
	} {
		if diff := cmp.Diff(v[1], v[0]); diff != "" {
			t.Errorf("%s: -claim +packed:\n%s", name, diff)
		}
	}

	// Reads are the reader's own: a change to one is in no other read.
	got.SetLabels(map[string]string{"changed": "yes"})
	unstructured.RemoveNestedField(got.Object, "spec")
	if again := a.DeepCopyObject().(*unstructured.Unstructured); !cmp.Equal(want.Object, again.Object) {
		t.Error("a change to one read shows in the next read")
	}

	// The reflector may transform an object twice: the second time keeps it
	// as it is, with its managedFields.
	for name, transform := range map[string]func(any) (any, error){"local": TransformLocal, "control-plane": TransformControlPlane} {
		raw := slices.Clone(a.raw)
		if again, err := transform(a); err != nil || again != any(a) || !bytes.Equal(raw, a.raw) {
			t.Errorf("the %s transform again: %p, %v, changed %v; want the same claim, unchanged", name, again, err, !bytes.Equal(raw, a.raw))
		}
	}

	// Repeating values are held once; the rest is one buffer.
	for name, s := range map[string][2]string{
		"apiVersion": {a.APIVersion, b.APIVersion},
		"kind":       {a.Kind, b.Kind},
		"namespace":  {a.GetNamespace(), b.GetNamespace()},
	} {
		if !sameString(s[0], s[1]) {
			t.Errorf("%s %q: two copies, want one shared", name, s[0])
		}
	}
	if !strings.HasPrefix(string(a.raw), metaPrefix) || cap(a.raw) != len(a.raw) {
		t.Errorf("raw starts %.20q, len %d, cap %d: want the metadata first, the buffer exactly its size", a.raw, len(a.raw), cap(a.raw))
	}

	// A setter keeps its meaning.
	a.SetLabels(map[string]string{"x": "1"})
	if l := a.DeepCopyObject().(*unstructured.Unstructured).GetLabels(); !cmp.Equal(l, map[string]string{"x": "1"}) || a.GetName() != want.GetName() {
		t.Errorf("after SetLabels: labels %v, name %q; want the new labels, the name kept", l, a.GetName())
	}
}

// A local claim's ControlPlaneSynced reason is read once, when packed: the
// Connection counts claims by it without decoding them.
func TestPackedSyncedReason(t *testing.T) {
	u := decodeClaim(t, remoteClaimJSON(1))
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	conds = append(conds, map[string]any{"type": condition.Type, "status": "False", "reason": condition.ReasonUnreachable})
	if err := unstructured.SetNestedSlice(u.Object, conds, "status", "conditions"); err != nil {
		t.Fatal(err)
	}
	obj, err := TransformLocal(u)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := obj.(condition.SyncedReasoner); !ok || r.SyncedReason() != condition.ReasonUnreachable {
		t.Errorf("the packed local claim's synced reason: %T %v, want %q", obj, obj, condition.ReasonUnreachable)
	}
}

// Whole-valued floats come back as floats, integers as integers: a claim
// read from the cache compares equal to the same claim read live.
func TestPackKeepsNumbers(t *testing.T) {
	raw := []byte(`{"apiVersion":"example.org/v1","kind":"Database","metadata":{"name":"db","namespace":"a"},
"spec":{"replicas":3,"ratio":2.0,"scale":0.5,"big":1e300,"list":[1,1.0,{"n":4.0}]}}`)
	live := decodeClaim(t, raw)
	obj, err := TransformLocal(decodeClaim(t, raw))
	if err != nil {
		t.Fatal(err)
	}
	got := obj.(*packedClaim).DeepCopyObject().(*unstructured.Unstructured)
	if diff := cmp.Diff(live.Object, got.Object); diff != "" {
		t.Errorf("numbers changed in the cache: -live +cached:\n%s", diff)
	}
	if _, ok := got.Object["spec"].(map[string]any)["ratio"].(float64); !ok {
		t.Errorf("spec.ratio read from the cache is %T, want float64", got.Object["spec"].(map[string]any)["ratio"])
	}
}

func TestTransformLocalSharesSecretStrings(t *testing.T) {
	secret := func() *corev1.Secret {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "db-conn", Namespace: strings.Clone("team-a"),
				Labels:          map[string]string{strings.Clone(conflict.LabelManaged): strings.Clone("true")},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: strings.Clone("bench.example.org/v1alpha1"), Kind: strings.Clone("Database"), Name: "db", UID: "1"}}},
			Type: corev1.SecretType(strings.Clone(ConnectionSecretType)),
			Data: map[string][]byte{strings.Clone("password"): []byte("x")},
		}
		return s
	}
	a, b := packedByTransform(t, TransformLocal, secret()), packedByTransform(t, TransformLocal, secret())
	want := secret()
	want.Data = map[string][]byte{digestKey: dataDigest(want.Data)} // secretdigest.go
	if diff := cmp.Diff(want, a.DeepCopyObject()); diff != "" {
		t.Errorf("the transformed Secret differs by value: -want +got:\n%s", diff)
	}
	// The rest is in each Secret's one buffer.
	for name, s := range map[string][2]string{
		"namespace":           {a.GetNamespace(), b.GetNamespace()},
		"owner's API version": {a.GetOwnerReferences()[0].APIVersion, b.GetOwnerReferences()[0].APIVersion},
		"owner's kind":        {a.GetOwnerReferences()[0].Kind, b.GetOwnerReferences()[0].Kind},
	} {
		if !sameString(s[0], s[1]) {
			t.Errorf("%s %q: two copies, want one shared", name, s[0])
		}
	}
}

func TestStringTableBound(t *testing.T) {
	tab := &stringTable{m: map[string]string{}, max: 2}
	first := tab.get(strings.Clone("a"))
	if got := tab.get(strings.Clone("a")); !sameString(got, first) {
		t.Error("a second a: a copy of its own, want the shared one")
	}
	tab.get("b")
	c := strings.Clone("c")
	if got := tab.get(c); !sameString(got, c) || len(tab.m) != 2 {
		t.Errorf("past the bound: got a table of %d, want c returned as given and the table left at 2", len(tab.m))
	}
}

// BenchmarkTransformHeap reports the heap a remote claim keeps in the
// cache (KiB/claim): as decoded, with its managedFields trimmed (specFields,
// compact), and as the control-plane transform packs it.
func BenchmarkTransformHeap(b *testing.B) {
	const n = 2000
	trim := func(u *unstructured.Unstructured) any {
		var kept []metav1.ManagedFieldsEntry
		for _, mf := range u.GetManagedFields() {
			if spec := specFields(mf); spec != nil {
				kept = append(kept, compact(mf, spec))
			}
		}
		u.SetManagedFields(kept)
		return u
	}
	transform := func(u *unstructured.Unstructured) any {
		obj, err := TransformControlPlane(u)
		if err != nil {
			b.Fatal(err)
		}
		return obj
	}
	measure := func(f func(*unstructured.Unstructured) any) float64 {
		raws := make([][]byte, n)
		for i := range raws {
			raws[i] = remoteClaimJSON(i)
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		kept := make([]any, n)
		for i := range kept {
			kept[i] = f(decodeClaim(b, raws[i]))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(kept)
		runtime.KeepAlive(raws)
		return float64(after.HeapAlloc-before.HeapAlloc) / 1024 / n
	}
	for range b.N {
		b.ReportMetric(measure(func(u *unstructured.Unstructured) any { return u }), "KiB/decoded")
		b.ReportMetric(measure(trim), "KiB/trimmed")
		b.ReportMetric(measure(transform), "KiB/packed")
	}
}
