// Package condition is the vocabulary of a local claim's ControlPlaneSynced
// condition: its type, every reason it can carry (defined here once, used by
// the syncer, the control-plane gate, the Connection's claim counts and the
// CLI), and the reading of a reason as a claim state ("in sync", "stale", ...).
//
// It owns no controller and writes nothing; CountClaims only lists, and
// CountCached only reads an informer's store.
package condition
