package soak

import (
	"fmt"
	"slices"
	"sort"

	"k8s.io/apimachinery/pkg/types"
)

// state is what the schedule last did to a claim.
type state int

const (
	// live: created and not deleted; its spec is count (if known).
	live state = iota
	// deleting: deleted with the default policy; local and remote must go.
	deleting
	// orphaning: deleted with the Orphan policy; the local claim must go,
	// the remote claim must stay.
	orphaning
	// maybe: the local CRD was deleted while the claim existed, which
	// deleted the local claim; it comes back if its remote claim existed
	// (import), else it is gone. Its spec is the remote's. A claim whose
	// user deletion began before the CRD's (to the second) is not maybe: it
	// keeps its state (sync.deletedByCRD).
	maybe
)

func (s state) String() string {
	return [...]string{"live", "deleting", "orphaning", "maybe"}[s]
}

// claim is the schedule's model of one local claim.
type claim struct {
	ns, name string
	count    int64
	state    state
	// userDeleted: the schedule deleted it with the default policy once.
	userDeleted bool
	// uid is the local object the schedule last wrote; goneUID the one a
	// CRD deletion took (an imported claim is a new object).
	uid, goneUID types.UID
	// orphanUID is the local object the schedule annotated with the Orphan
	// policy last: if it is the one a CRD deletion took, the connector may
	// release its remote claim as that policy says (marked claim-deleted,
	// not imported back) instead of as the CRD deletion's.
	orphanUID types.UID
	// written are the counts the schedule ever wrote: an imported claim
	// must carry one of them.
	written []int64
}

// wrote records a count the schedule wrote.
func (c *claim) wrote(n int64, uid types.UID) {
	c.count, c.state, c.uid = n, live, uid
	c.written = append(c.written, n)
}

func (c *claim) key() string { return c.ns + "/" + c.name }

// model is what the schedule wrote, by ns/name.
type model struct {
	claims map[string]*claim
	next   int
}

func newModel() *model { return &model{claims: map[string]*claim{}} }

func (m *model) newName() string {
	m.next++
	return fmt.Sprintf("c-%04d", m.next)
}

// pick returns a random claim in one of states, or nil.
func (m *model) pick(intn func(int) int, states ...state) *claim {
	var keys []string
	for k, c := range m.claims {
		if slices.Contains(states, c.state) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	return m.claims[keys[intn(len(keys))]]
}

func (m *model) count(states ...state) int {
	n := 0
	for _, c := range m.claims {
		if slices.Contains(states, c.state) {
			n++
		}
	}
	return n
}
