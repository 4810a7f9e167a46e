package sync

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/sync/condition"
)

// The caches hold every claim twice (local and remote). Decoded, a claim is
// a tree of maps, slices and boxed strings: some 50 small allocations, 4-5
// KiB of heap, and, worse, those allocations are made among the decoder's
// garbage, so the pages they sit in stay half empty once it is collected
// (docs/benchmarks.md measured more room in such pages than live heap). A
// packedClaim holds the claim as its JSON instead, one allocation without
// pointers that the collector never scans, beside the few metadata fields
// that event handlers, the echo filter and the stores' indexes read on every
// event. Every read through a cache decodes it (DeepCopyObject: a read made
// a deep copy before, at about the same cost); the rest of the metadata is
// decoded on demand from its part of the JSON.
//
// Nothing writes to an object in a cache. The setters exist to satisfy
// metav1.Object and keep their meaning: they decode, change and pack again.

// metaPrefix starts every packed claim's JSON: the metadata comes first, so
// that it can be decoded alone.
const metaPrefix = `{"metadata":`

// packedClaim is a claim as the caches hold it (TransformLocal,
// TransformControlPlane).
type packedClaim struct {
	metav1.TypeMeta // shared strings
	packedIDs
	generation int64
	deletion   *metav1.Time
	// synced is the reason of the claim's ControlPlaneSynced condition
	// (shared), which the Connection counts claims by.
	synced string
	// raw is the whole claim as JSON, metadata first: raw[len(metaPrefix):
	// metaEnd] is the metadata's.
	raw     []byte
	metaEnd int
}

var (
	_ client.Object            = &packedClaim{}
	_ condition.SyncedReasoner = &packedClaim{}
)

// pack encodes u (which it may change: the transforms own the object they
// are given) as a packedClaim.
func pack(u *unstructured.Unstructured) (*packedClaim, error) {
	keepFloats(u.Object)
	md, ok := u.Object["metadata"]
	if !ok {
		return nil, fmt.Errorf("%s has no metadata", u.GetKind())
	}
	mdJSON, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("encode the metadata of %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	delete(u.Object, "metadata")
	rest, err := json.Marshal(u.Object)
	u.Object["metadata"] = md
	if err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	raw := make([]byte, 0, len(metaPrefix)+len(mdJSON)+len(rest))
	raw = append(append(raw, metaPrefix...), mdJSON...)
	metaEnd := len(raw)
	if len(rest) > 2 { // not "{}"
		raw = append(append(raw, ','), rest[1:]...)
	} else {
		raw = append(raw, '}')
	}
	ids, err := newPackedIDs(u.GetKind(), u.GetNamespace(), u.GetName(), u.GetUID(), u.GetResourceVersion())
	if err != nil {
		return nil, err
	}
	return &packedClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: shared.get(u.GetAPIVersion()), Kind: shared.get(u.GetKind())},
		packedIDs:  ids,
		generation: u.GetGeneration(),
		deletion:   u.GetDeletionTimestamp(),
		synced:     shared.get(condition.SyncedReason(u)),
		raw:        raw,
		metaEnd:    metaEnd,
	}, nil
}

// keepFloats makes the encoding of v's whole-valued floats keep a fraction
// ("2.0"): encoded as "2" they would come back as integers.
func keepFloats(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if f, ok := e.(float64); ok {
				x[k] = floatNumber(f)
			} else {
				keepFloats(e)
			}
		}
	case []any:
		for i, e := range x {
			if f, ok := e.(float64); ok {
				x[i] = floatNumber(f)
			} else {
				keepFloats(e)
			}
		}
	}
}

func floatNumber(f float64) any {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if strings.ContainsAny(s, ".eEN") { // a fraction, an exponent, NaN or Inf
		return f
	}
	return json.Number(s + ".0")
}

// unpack decodes the claim.
func (p *packedClaim) unpack() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(p.raw); err != nil {
		// raw was encoded from a decoded object: this cannot happen. What
		// the handlers read stays right.
		u = &unstructured.Unstructured{}
		u.SetAPIVersion(p.APIVersion)
		u.SetKind(p.Kind)
		u.SetNamespace(p.namespace)
		u.SetName(p.GetName())
		u.SetUID(p.GetUID())
		u.SetResourceVersion(p.GetResourceVersion())
	}
	return u
}

// DeepCopyObject decodes the claim: a read from a cache gets an
// *unstructured.Unstructured, its own.
func (p *packedClaim) DeepCopyObject() runtime.Object { return p.unpack() }

// SyncedReason is the reason of the claim's ControlPlaneSynced condition.
func (p *packedClaim) SyncedReason() string { return p.synced }

// rawMeta is the metadata's JSON.
func (p *packedClaim) rawMeta() []byte { return p.raw[len(metaPrefix):p.metaEnd] }

// meta decodes the metadata.
func (p *packedClaim) meta() metav1.ObjectMeta {
	var m metav1.ObjectMeta
	_ = json.Unmarshal(p.rawMeta(), &m) // encoded from valid metadata
	return m
}

// edit decodes the claim, changes it and packs it again.
func (p *packedClaim) edit(f func(*unstructured.Unstructured)) {
	u := p.unpack()
	f(u)
	if q, err := pack(u); err == nil {
		*p = *q
	}
}

func (p *packedClaim) GetGeneration() int64               { return p.generation }
func (p *packedClaim) GetDeletionTimestamp() *metav1.Time { return p.deletion }

func (p *packedClaim) GetGenerateName() string           { return p.meta().GenerateName }
func (p *packedClaim) GetSelfLink() string               { return p.meta().SelfLink }
func (p *packedClaim) GetCreationTimestamp() metav1.Time { return p.meta().CreationTimestamp }
func (p *packedClaim) GetDeletionGracePeriodSeconds() *int64 {
	return p.meta().DeletionGracePeriodSeconds
}
func (p *packedClaim) GetLabels() map[string]string                { return p.meta().Labels }
func (p *packedClaim) GetAnnotations() map[string]string           { return p.meta().Annotations }
func (p *packedClaim) GetFinalizers() []string                     { return p.meta().Finalizers }
func (p *packedClaim) GetOwnerReferences() []metav1.OwnerReference { return p.meta().OwnerReferences }
func (p *packedClaim) GetManagedFields() []metav1.ManagedFieldsEntry {
	return p.meta().ManagedFields
}

func (p *packedClaim) SetNamespace(v string) {
	p.edit(func(u *unstructured.Unstructured) { u.SetNamespace(v) })
}
func (p *packedClaim) SetName(v string) { p.edit(func(u *unstructured.Unstructured) { u.SetName(v) }) }
func (p *packedClaim) SetGenerateName(v string) {
	p.edit(func(u *unstructured.Unstructured) { u.SetGenerateName(v) })
}
func (p *packedClaim) SetUID(v types.UID) { p.edit(func(u *unstructured.Unstructured) { u.SetUID(v) }) }
func (p *packedClaim) SetResourceVersion(v string) {
	p.edit(func(u *unstructured.Unstructured) { u.SetResourceVersion(v) })
}
func (p *packedClaim) SetGeneration(v int64) {
	p.edit(func(u *unstructured.Unstructured) { u.SetGeneration(v) })
}
func (p *packedClaim) SetSelfLink(v string) {
	p.edit(func(u *unstructured.Unstructured) { u.SetSelfLink(v) })
}
func (p *packedClaim) SetCreationTimestamp(v metav1.Time) {
	p.edit(func(u *unstructured.Unstructured) { u.SetCreationTimestamp(v) })
}
func (p *packedClaim) SetDeletionTimestamp(v *metav1.Time) {
	p.edit(func(u *unstructured.Unstructured) { u.SetDeletionTimestamp(v) })
}
func (p *packedClaim) SetDeletionGracePeriodSeconds(v *int64) {
	p.edit(func(u *unstructured.Unstructured) { u.SetDeletionGracePeriodSeconds(v) })
}
func (p *packedClaim) SetLabels(v map[string]string) {
	p.edit(func(u *unstructured.Unstructured) { u.SetLabels(v) })
}
func (p *packedClaim) SetAnnotations(v map[string]string) {
	p.edit(func(u *unstructured.Unstructured) { u.SetAnnotations(v) })
}
func (p *packedClaim) SetFinalizers(v []string) {
	p.edit(func(u *unstructured.Unstructured) { u.SetFinalizers(v) })
}
func (p *packedClaim) SetOwnerReferences(v []metav1.OwnerReference) {
	p.edit(func(u *unstructured.Unstructured) { u.SetOwnerReferences(v) })
}
func (p *packedClaim) SetManagedFields(v []metav1.ManagedFieldsEntry) {
	p.edit(func(u *unstructured.Unstructured) { u.SetManagedFields(v) })
}
