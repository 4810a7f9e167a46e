package sync

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mcp-connector/mcp-connector/conflict"
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

func TestTransformsShareStrings(t *testing.T) {
	a, b := decodeClaim(t, remoteClaimJSON(1)), decodeClaim(t, remoteClaimJSON(2))
	want := decodeClaim(t, remoteClaimJSON(1))
	for _, u := range []*unstructured.Unstructured{a, b, want} {
		if _, err := TransformControlPlane(u); err != nil {
			t.Fatal(err)
		}
	}
	// Interning never changes an object by value (want went through it
	// too; the spec part of the entries is TestTransformControlPlane's).
	plain := decodeClaim(t, remoteClaimJSON(1))
	plain.SetManagedFields(want.GetManagedFields())
	if diff := cmp.Diff(plain.Object, a.Object); diff != "" {
		t.Errorf("the transformed claim differs from the claim with its kept managedFields: -want +got:\n%s", diff)
	}

	spec := func(u *unstructured.Unstructured) map[string]any { return u.Object["spec"].(map[string]any) }
	cond := func(u *unstructured.Unstructured, i int) map[string]any {
		return u.Object["status"].(map[string]any)["conditions"].([]any)[i].(map[string]any)
	}
	md := func(u *unstructured.Unstructured) map[string]any { return u.Object["metadata"].(map[string]any) }
	entry := func(u *unstructured.Unstructured, i int) map[string]any {
		return md(u)["managedFields"].([]any)[i].(map[string]any)
	}
	sharedCases := map[string][2]string{
		"key apiVersion":           {keyOf(a.Object, "apiVersion"), keyOf(b.Object, "apiVersion")},
		"key creationTimestamp":    {keyOf(md(a), "creationTimestamp"), keyOf(md(b), "creationTimestamp")},
		"key of a spec field":      {keyOf(spec(a), "writeConnectionSecretToRef"), keyOf(spec(b), "writeConnectionSecretToRef")},
		"key of a condition":       {keyOf(cond(a, 1), "lastTransitionTime"), keyOf(cond(b, 1), "lastTransitionTime")},
		"kind":                     {a.Object["kind"].(string), b.Object["kind"].(string)},
		"namespace":                {md(a)["namespace"].(string), md(b)["namespace"].(string)},
		"finalizer":                {a.GetFinalizers()[0], b.GetFinalizers()[0]},
		"cluster-id label's value": {md(a)["labels"].(map[string]any)[conflict.LabelClusterID].(string), md(b)["labels"].(map[string]any)[conflict.LabelClusterID].(string)},
		"condition type":           {cond(a, 0)["type"].(string), cond(b, 0)["type"].(string)},
		"condition reason":         {cond(a, 1)["reason"].(string), cond(b, 1)["reason"].(string)},
		"Crossplane's default":     {spec(a)["compositeDeletePolicy"].(string), spec(b)["compositeDeletePolicy"].(string)},
		"field manager":            {entry(a, 0)["manager"].(string), entry(b, 0)["manager"].(string)},
	}
	for name, s := range sharedCases {
		if s[0] == "" || !sameString(s[0], s[1]) {
			t.Errorf("%s %q: two copies, want one shared", name, s[0])
		}
	}
	// Values that differ between objects, or that are not known to repeat,
	// stay each object's own.
	for name, s := range map[string][2]string{
		"uid":                  {a.GetAnnotations()[conflict.AnnotationClaimUID], want.GetAnnotations()[conflict.AnnotationClaimUID]},
		"lastTransitionTime":   {cond(a, 0)["lastTransitionTime"].(string), cond(want, 0)["lastTransitionTime"].(string)},
		"a spec field's value": {spec(a)["size"].(string), spec(want)["size"].(string)},
	} {
		if sameString(s[0], s[1]) {
			t.Errorf("%s %q is shared, want each object's own copy", name, s[0])
		}
	}
	// A repeating value is held in one box: an any's data word points to
	// the same string header in both objects.
	box := func(v any) unsafe.Pointer { return (*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1] }
	for name, v := range map[string][2]any{
		"kind":           {a.Object["kind"], b.Object["kind"]},
		"condition type": {cond(a, 0)["type"], cond(b, 0)["type"]},
		"field manager":  {entry(a, 0)["manager"], entry(b, 0)["manager"]},
	} {
		if box(v[0]) != box(v[1]) {
			t.Errorf("%s %v: boxed once an object, want one box shared", name, v[0])
		}
	}
	for i := range 2 {
		fa, fb := entry(a, i)["fieldsV1"], entry(b, i)["fieldsV1"]
		if reflect.ValueOf(fa).UnsafePointer() != reflect.ValueOf(fb).UnsafePointer() {
			t.Errorf("managedFields[%d].fieldsV1: two maps, want the one of identical entries shared", i)
		}
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
	a, b := secret(), secret()
	for _, s := range []*corev1.Secret{a, b} {
		if _, err := TransformLocal(s); err != nil {
			t.Fatal(err)
		}
	}
	want := secret()
	want.Data = map[string][]byte{digestKey: dataDigest(want.Data)} // secretdigest.go
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("the transformed Secret differs by value: -want +got:\n%s", diff)
	}
	key := func(m map[string]string) string {
		for k := range m {
			return k
		}
		return ""
	}
	dataKey := func(m map[string][]byte) string {
		for k := range m {
			return k
		}
		return ""
	}
	for name, s := range map[string][2]string{
		"namespace":             {a.Namespace, b.Namespace},
		"type":                  {string(a.Type), string(b.Type)},
		"label key":             {key(a.Labels), key(b.Labels)},
		"managed label's value": {a.Labels[conflict.LabelManaged], b.Labels[conflict.LabelManaged]},
		"data key":              {dataKey(a.Data), dataKey(b.Data)},
		"owner's API version":   {a.OwnerReferences[0].APIVersion, b.OwnerReferences[0].APIVersion},
		"owner's kind":          {a.OwnerReferences[0].Kind, b.OwnerReferences[0].Kind},
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
	fields := &mapTable{m: map[string]map[string]any{}, max: 1}
	one := map[string]any{"f:a": map[string]any{}}
	fields.get("1", func() map[string]any { return one })
	two := map[string]any{"f:b": map[string]any{}}
	if got := fields.get("2", func() map[string]any { return two }); reflect.ValueOf(got).UnsafePointer() != reflect.ValueOf(two).UnsafePointer() || len(fields.m) != 1 {
		t.Errorf("past the bound: got a table of %d, want the map returned as given and the table left at 1", len(fields.m))
	}
}

// BenchmarkTransformHeap reports the heap a remote claim keeps in the
// cache (KiB/claim): as decoded, with its managedFields trimmed as before
// sharing (specFields, compact), and after the control-plane transform.
func BenchmarkTransformHeap(b *testing.B) {
	const n = 2000
	trim := func(u *unstructured.Unstructured) {
		var kept []metav1.ManagedFieldsEntry
		for _, mf := range u.GetManagedFields() {
			if spec := specFields(mf); spec != nil {
				kept = append(kept, compact(mf, spec))
			}
		}
		u.SetManagedFields(kept)
	}
	transform := func(u *unstructured.Unstructured) {
		if _, err := TransformControlPlane(u); err != nil {
			b.Fatal(err)
		}
	}
	measure := func(f func(*unstructured.Unstructured)) float64 {
		raws := make([][]byte, n)
		for i := range raws {
			raws[i] = remoteClaimJSON(i)
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		kept := make([]*unstructured.Unstructured, n)
		for i := range kept {
			kept[i] = decodeClaim(b, raws[i])
			f(kept[i])
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(kept)
		runtime.KeepAlive(raws)
		return float64(after.HeapAlloc-before.HeapAlloc) / 1024 / n
	}
	for range b.N {
		b.ReportMetric(measure(func(*unstructured.Unstructured) {}), "KiB/decoded")
		b.ReportMetric(measure(trim), "KiB/trimmed")
		b.ReportMetric(measure(transform), "KiB/shared")
	}
}
