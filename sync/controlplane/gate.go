package controlplane

import (
	"context"
	"slices"
	gosync "sync"
	"time"

	"github.com/mcp-connector/mcp-connector/sync/condition"
)

// GateState says whether syncing into the control plane may go on.
type GateState struct {
	// Open is true when the control plane is reachable and its namespace is
	// held by this app cluster.
	Open bool
	// Reachable is true when the last probe got any answer from the API server.
	Reachable bool
	// Reason and Message explain a closed gate; Reason is condition.ReasonReady when open.
	Reason  string
	Message string
	// Since is when Open or Reason last changed.
	Since time.Time
	// LastContact is when the control plane last answered.
	LastContact time.Time
}

// Gate holds the current GateState and tells subscribers when it changes.
// The probe (Monitor) is its only writer.
type Gate struct {
	mu    gosync.Mutex
	state GateState
	subs  []chan struct{}
}

// NewGate returns a closed gate waiting for its first probe.
func NewGate(now time.Time) *Gate {
	return &Gate{state: GateState{Reason: condition.ReasonStarting, Message: "waiting for the first contact with the control plane", Since: now}}
}

// State returns the current state.
func (g *Gate) State() GateState {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state
}

// Subscribe returns a channel that receives a value after each change of
// Open, Reachable or Reason, until ctx ends; then the subscription is
// dropped. Slow readers miss intermediate changes, never the last.
func (g *Gate) Subscribe(ctx context.Context) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch := make(chan struct{}, 1)
	g.subs = append(g.subs, ch)
	context.AfterFunc(ctx, func() { g.unsubscribe(ch) })
	return ch
}

func (g *Gate) unsubscribe(ch chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.subs = slices.DeleteFunc(g.subs, func(c chan struct{}) bool { return c == ch })
}

// subscribers is how many subscriptions are open (for tests).
func (g *Gate) subscribers() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.subs)
}

// Set records a new state. A change of Open, Reachable or Reason moves Since
// and notifies subscribers; a repeat only moves LastContact.
func (g *Gate) Set(s GateState, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s.Reachable {
		s.LastContact = now
	} else {
		s.LastContact = g.state.LastContact
	}
	changed := s.Open != g.state.Open || s.Reachable != g.state.Reachable || s.Reason != g.state.Reason
	s.Since = g.state.Since
	if changed {
		s.Since = now
	}
	g.state = s
	if !changed {
		return
	}
	for _, ch := range g.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
