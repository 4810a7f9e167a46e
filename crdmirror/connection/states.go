package connection

import (
	"slices"
	"strings"
	gosync "sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// API states reported in the Connection status.
const (
	StateMirrored  = "Mirrored"
	StatePending   = "Pending"
	StateRefused   = "Refused"
	StateWithdrawn = "Withdrawn"
)

// APIState is what the Connection says about one claim API.
type APIState struct {
	// Name is the claim CRD's name (plural.group).
	Name    string `json:"name"`
	Kind    string `json:"kind,omitempty"`
	Version string `json:"version,omitempty"`
	XRD     string `json:"xrd"`
	State   string `json:"state"`
	Message string `json:"message,omitempty"`
}

// GVK is the kind of the API's claims (its name is plural.group).
func (a APIState) GVK() schema.GroupVersionKind {
	_, group, _ := strings.Cut(a.Name, ".")
	return schema.GroupVersionKind{Group: group, Version: a.Version, Kind: a.Kind}
}

// States is the mirror's record of every claim API it has seen, keyed by XRD
// name. It tells a listener when something changed.
type States struct {
	mu      gosync.Mutex
	byXRD   map[string]APIState
	listed  bool
	changed chan struct{}
}

// NewStates returns an empty record.
func NewStates() *States {
	return &States{byXRD: map[string]APIState{}, changed: make(chan struct{}, 1)}
}

// Set records the state of one API.
func (s *States) Set(a APIState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byXRD[a.XRD] == a {
		return
	}
	s.byXRD[a.XRD] = a
	s.notify()
}

// Listed records that the mirror has listed the control plane's XRDs: apis
// are those it offers, each pending unless the mirror has looked at it
// already. Until then no API is known, which does not mean none is offered.
func (s *States) Listed(apis []APIState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := !s.listed
	s.listed = true
	for _, a := range apis {
		if _, ok := s.byXRD[a.XRD]; !ok {
			a.State = StatePending
			s.byXRD[a.XRD] = a
			changed = true
		}
	}
	if changed {
		s.notify()
	}
}

// HaveListed says whether the mirror has listed the control plane's XRDs
// once.
func (s *States) HaveListed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listed
}

// Forget drops an API whose XRD and mirror are both gone.
func (s *States) Forget(xrd string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byXRD[xrd]; !ok {
		return
	}
	delete(s.byXRD, xrd)
	s.notify()
}

func (s *States) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// Changed receives after each change.
func (s *States) Changed() <-chan struct{} { return s.changed }

// List returns the states sorted by name, for a deterministic status.
func (s *States) List() []APIState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]APIState, 0, len(s.byXRD))
	for _, a := range s.byXRD {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b APIState) int { return strings.Compare(a.Name+a.XRD, b.Name+b.XRD) })
	return out
}
