package conflict

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Local describes an object we want to write in the app cluster (a claim's
// connection Secret, a mirrored CRD) and whether we may.
type Local int

const (
	// LocalAbsent: nothing of that name; we may create it.
	LocalAbsent Local = iota
	// LocalOurs: we wrote it for this owner; we may update or delete it.
	LocalOurs
	// LocalForeign: someone else's; never written, reported instead.
	LocalForeign
)

func (l Local) String() string {
	return [...]string{"Absent", "Ours", "Foreign"}[l]
}

// ClassifySecret says whether a local Secret may carry the connection details
// of the claim with uid owner: only a Secret we created for that very claim.
// A Secret made for a claim of another namespace can never match, since owner
// references only point within a namespace and uids are unique.
func ClassifySecret(exists bool, labels map[string]string, owners []metav1.OwnerReference, owner types.UID) Local {
	if !exists {
		return LocalAbsent
	}
	if labels[LabelManaged] != "true" {
		return LocalForeign
	}
	for _, ref := range owners {
		if ref.UID == owner && ref.Controller != nil && *ref.Controller {
			return LocalOurs
		}
	}
	return LocalForeign
}

// LabelConnection on a mirrored CRD names the Connection (one connector) that
// owns it. AnnotationXRD names the XRD it was generated from.
const (
	LabelConnection          = Prefix + "connection"
	AnnotationXRD            = Prefix + "xrd"
	AnnotationControlPlane   = Prefix + "control-plane"
	AnnotationCRDUnavailable = Prefix + "withdrawn"
)

// ClassifyCRD says whether a local CRD may be written or deleted by the
// connector whose Connection is named connection.
func ClassifyCRD(exists bool, labels map[string]string, connection string) Local {
	switch {
	case !exists:
		return LocalAbsent
	case labels[LabelManaged] == "true" && labels[LabelConnection] == connection:
		return LocalOurs
	}
	return LocalForeign
}

// MayDeleteCRD says whether a mirrored CRD may be deleted. Deleting a CRD
// deletes every object of its kind, so all must hold: it is ours, the control
// plane was seen to withdraw the API (the XRD gone or offering no claim,
// observed by a successful read, never inferred from a failed or empty list),
// and a successful list found no local objects of the kind.
func MayDeleteCRD(l Local, withdrawnObserved bool, localObjects int, listOK bool) bool {
	return l == LocalOurs && withdrawnObserved && listOK && localObjects == 0
}
