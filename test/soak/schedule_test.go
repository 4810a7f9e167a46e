package soak

import (
	"fmt"
	"math/rand/v2"
)

// What the schedule does, by kind: claim operations and faults.
const (
	opCreate       = "create"
	opUpdate       = "update spec"
	opDelete       = "delete"
	opOrphanDelete = "delete with Orphan policy"
	opCRDDelete    = "delete the local CRD"
	opRemoteEdit   = "edit the remote claim out of band"
	opRemoteDelete = "delete the remote claim out of band"

	faultKill        = "kill -9 a connector replica"
	faultHandOver    = "leader hand-over"
	faultCut         = "partition (cut)"
	faultBlackhole   = "partition (blackhole)"
	faultRestartCP   = "restart the control plane's API server"
	faultRestartApp  = "restart the app cluster's API server"
	opsPerFault      = 25
	crdDeletesPerOps = 300
)

// opWeights draws the claim operations; the local CRD deletion, which
// deletes every claim of the kind, is placed apart (crdDeletesPerOps).
var opWeights = []struct {
	kind   string
	weight int
}{
	{opCreate, 30}, {opUpdate, 28}, {opDelete, 12}, {opOrphanDelete, 6}, {opRemoteEdit, 6}, {opRemoteDelete, 3},
}

var faultKinds = []string{faultKill, faultHandOver, faultCut, faultBlackhole, faultRestartCP, faultRestartApp}

// windowFaults last a number of steps (drawn), during which operations go on.
var windowFaults = map[string]bool{faultCut: true, faultBlackhole: true, faultRestartCP: true}

// step is one entry of the schedule.
type step struct {
	kind  string
	fault bool
	// hold is how many operations a window fault lasts.
	hold int
}

// plan draws the schedule of ops operations: the operations by weight, one
// fault about every opsPerFault operations at drawn positions, with every
// fault kind at least once and the CRD deletion at least once. The same
// seed draws the same plan.
func plan(rng *rand.Rand, ops int) []step {
	total := 0
	for _, w := range opWeights {
		total += w.weight
	}
	steps := make([]step, 0, ops+ops/opsPerFault+len(faultKinds))
	for range ops {
		n := rng.IntN(total)
		for _, w := range opWeights {
			if n < w.weight {
				steps = append(steps, step{kind: w.kind})
				break
			}
			n -= w.weight
		}
	}
	// Not at the very start: the first claims exist before the first CRD deletion.
	for range max(1, ops/crdDeletesPerOps) {
		steps[len(steps)/10+rng.IntN(len(steps)*9/10)] = step{kind: opCRDDelete}
	}
	nFaults := max(len(faultKinds), ops/opsPerFault)
	kinds := make([]string, 0, nFaults)
	for len(kinds) < nFaults {
		for _, i := range rng.Perm(len(faultKinds)) {
			kinds = append(kinds, faultKinds[i])
		}
	}
	for _, k := range kinds[:nFaults] {
		s := step{kind: k, fault: true}
		if windowFaults[k] {
			s.hold = 10 + rng.IntN(30)
		}
		at := 5 + rng.IntN(len(steps)-5)
		steps = append(steps[:at], append([]step{s}, steps[at:]...)...)
	}
	return steps
}

func (s step) String() string {
	if s.hold > 0 {
		return fmt.Sprintf("%s for %d ops", s.kind, s.hold)
	}
	return s.kind
}
