package sync

// Kind is what a syncer syncs: claims (Crossplane v1 XRDs with claimNames,
// scope LegacyCluster) or namespaced composite resources (Crossplane v2 XRDs,
// scope Namespaced). Both take the same path; they differ in their field
// policy (conflict.FieldPolicy.ForClaim, ForXR) and in their Secrets: a claim
// names its connection Secret (writeConnectionSecretToRef, secret.go), a
// namespaced XR has none and its composition composes Secrets owned by the
// XR (xrsecret.go).
type Kind int

const (
	// KindClaim syncs claims.
	KindClaim Kind = iota
	// KindXR syncs namespaced composite resources.
	KindXR
)

func (k Kind) String() string {
	if k == KindXR {
		return "CompositeResource"
	}
	return "Claim"
}
