package sync

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// packedSecret is a Secret as the caches hold it (connection Secrets in the
// control plane, our copies of them in the app cluster):
// its protobuf encoding, one allocation without pointers, beside the few
// fields the stores' keys and indexes read. Decoded, a Secret with two short
// keys is some 20 allocations and over a KiB of heap; packed, about half a
// KiB. The control plane's keep their data, which the copies are made from;
// the copies' data are a digest (secretdigest.go).
// Every read through the cache decodes it (DeepCopyObject), as the read made
// a deep copy before. The owner references stay decoded: every kind's
// handler reads them on every event of the shared informer, to find the
// claim a Secret belongs to. The rest of the metadata is decoded on demand.
// Like packedClaim, its setters decode, change and pack again.
type packedSecret struct {
	metav1.TypeMeta // shared strings
	packedIDs
	owners []metav1.OwnerReference
	// raw is the Secret's encoding without its owner references.
	raw []byte
}

var _ client.Object = &packedSecret{}

// packSecret encodes s (which it may change: the transforms own the object
// they are given) as a packedSecret.
func packSecret(s *corev1.Secret) (*packedSecret, error) {
	ids, err := newPackedIDs("Secret", s.Namespace, s.Name, s.UID, s.ResourceVersion)
	if err != nil {
		return nil, err
	}
	owners := s.OwnerReferences
	s.OwnerReferences = nil
	raw, err := s.Marshal()
	s.OwnerReferences = owners
	if err != nil {
		return nil, err
	}
	for i := range owners {
		owners[i].APIVersion = shared.get(owners[i].APIVersion)
		owners[i].Kind = shared.get(owners[i].Kind)
	}
	return &packedSecret{
		TypeMeta:  metav1.TypeMeta{APIVersion: shared.get(s.APIVersion), Kind: shared.get(s.Kind)},
		packedIDs: ids,
		owners:    slices.Clip(owners),
		raw:       raw,
	}, nil
}

// packedSecretOf is what the control-plane cache holds of s: packed, or s
// itself if it cannot be encoded (it then costs its decoded size, and says
// so in the log).
func packedSecretOf(s *corev1.Secret) any {
	p, err := packSecret(s)
	if err != nil {
		log.Log.WithName("cache").Error(err, "Cannot pack the Secret: the cache holds it decoded", "namespace", s.Namespace, "name", s.Name)
		internSecret(s)
		return s
	}
	return p
}

// unpack decodes the Secret.
func (p *packedSecret) unpack() *corev1.Secret {
	s := &corev1.Secret{}
	if err := s.Unmarshal(p.raw); err != nil {
		// raw was encoded from a decoded Secret: this cannot happen. What
		// the stores read stays right.
		s = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: p.namespace, Name: p.GetName(), UID: p.GetUID(), ResourceVersion: p.GetResourceVersion()}}
	}
	s.TypeMeta = p.TypeMeta
	for i := range p.owners {
		s.OwnerReferences = append(s.OwnerReferences, *p.owners[i].DeepCopy())
	}
	return s
}

// DeepCopyObject decodes the Secret: a read from the cache gets a
// *corev1.Secret, its own.
func (p *packedSecret) DeepCopyObject() runtime.Object { return p.unpack() }

// edit decodes the Secret, changes it and packs it again.
func (p *packedSecret) edit(f func(*corev1.Secret)) {
	s := p.unpack()
	f(s)
	if q, err := packSecret(s); err == nil {
		*p = *q
	}
}

func (p *packedSecret) meta() metav1.ObjectMeta { return p.unpack().ObjectMeta }

func (p *packedSecret) GetGenerateName() string            { return p.meta().GenerateName }
func (p *packedSecret) GetGeneration() int64               { return p.meta().Generation }
func (p *packedSecret) GetSelfLink() string                { return p.meta().SelfLink }
func (p *packedSecret) GetCreationTimestamp() metav1.Time  { return p.meta().CreationTimestamp }
func (p *packedSecret) GetDeletionTimestamp() *metav1.Time { return p.meta().DeletionTimestamp }
func (p *packedSecret) GetDeletionGracePeriodSeconds() *int64 {
	return p.meta().DeletionGracePeriodSeconds
}
func (p *packedSecret) GetLabels() map[string]string                { return p.meta().Labels }
func (p *packedSecret) GetAnnotations() map[string]string           { return p.meta().Annotations }
func (p *packedSecret) GetFinalizers() []string                     { return p.meta().Finalizers }
func (p *packedSecret) GetOwnerReferences() []metav1.OwnerReference { return p.owners }
func (p *packedSecret) GetManagedFields() []metav1.ManagedFieldsEntry {
	return p.meta().ManagedFields
}

func (p *packedSecret) SetNamespace(v string) { p.edit(func(s *corev1.Secret) { s.Namespace = v }) }
func (p *packedSecret) SetName(v string)      { p.edit(func(s *corev1.Secret) { s.Name = v }) }
func (p *packedSecret) SetGenerateName(v string) {
	p.edit(func(s *corev1.Secret) { s.GenerateName = v })
}
func (p *packedSecret) SetUID(v types.UID) { p.edit(func(s *corev1.Secret) { s.UID = v }) }
func (p *packedSecret) SetResourceVersion(v string) {
	p.edit(func(s *corev1.Secret) { s.ResourceVersion = v })
}
func (p *packedSecret) SetGeneration(v int64) { p.edit(func(s *corev1.Secret) { s.Generation = v }) }
func (p *packedSecret) SetSelfLink(v string)  { p.edit(func(s *corev1.Secret) { s.SelfLink = v }) }
func (p *packedSecret) SetCreationTimestamp(v metav1.Time) {
	p.edit(func(s *corev1.Secret) { s.CreationTimestamp = v })
}
func (p *packedSecret) SetDeletionTimestamp(v *metav1.Time) {
	p.edit(func(s *corev1.Secret) { s.DeletionTimestamp = v })
}
func (p *packedSecret) SetDeletionGracePeriodSeconds(v *int64) {
	p.edit(func(s *corev1.Secret) { s.DeletionGracePeriodSeconds = v })
}
func (p *packedSecret) SetLabels(v map[string]string) {
	p.edit(func(s *corev1.Secret) { s.Labels = v })
}
func (p *packedSecret) SetAnnotations(v map[string]string) {
	p.edit(func(s *corev1.Secret) { s.Annotations = v })
}
func (p *packedSecret) SetFinalizers(v []string) { p.edit(func(s *corev1.Secret) { s.Finalizers = v }) }
func (p *packedSecret) SetOwnerReferences(v []metav1.OwnerReference) {
	p.edit(func(s *corev1.Secret) { s.OwnerReferences = v })
}
func (p *packedSecret) SetManagedFields(v []metav1.ManagedFieldsEntry) {
	p.edit(func(s *corev1.Secret) { s.ManagedFields = v })
}
