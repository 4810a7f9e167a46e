package sync

import (
	"fmt"

	"k8s.io/apimachinery/pkg/types"
)

// packedIDs is what a packed object keeps of its identity: the namespace
// (shared) and, in one allocation, the name, the uid and the
// resourceVersion, which nameLen and uidLen split.
type packedIDs struct {
	namespace       string
	ids             string
	nameLen, uidLen uint16
}

// newPackedIDs packs the identity of the kind's object name.
func newPackedIDs(kind, namespace, name string, uid types.UID, rv string) (packedIDs, error) {
	if len(name) > 0xffff || len(uid) > 0xffff {
		return packedIDs{}, fmt.Errorf("%s %s: name or uid too long to pack", kind, name)
	}
	return packedIDs{
		namespace: shared.get(namespace),
		ids:       name + string(uid) + rv,
		nameLen:   uint16(len(name)), uidLen: uint16(len(uid)),
	}, nil
}

func (p *packedIDs) GetNamespace() string       { return p.namespace }
func (p *packedIDs) GetName() string            { return p.ids[:p.nameLen] }
func (p *packedIDs) GetUID() types.UID          { return types.UID(p.ids[p.nameLen : p.nameLen+p.uidLen]) }
func (p *packedIDs) GetResourceVersion() string { return p.ids[p.nameLen+p.uidLen:] }
