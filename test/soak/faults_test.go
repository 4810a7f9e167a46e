package soak

import (
	"context"
	"fmt"
	"time"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// window is a fault that lasts while operations go on.
type window struct {
	kind string
	left int
}

// fault starts a fault; a window fault is returned, to be ended by endWindow.
func (r *runner) fault(s step) (*window, string, error) {
	switch s.kind {
	case faultKill:
		i := r.rng.IntN(len(r.rig.replicas))
		pid := r.rig.replicas[i].Pid()
		if err := r.rig.replicas[i].Kill(); err != nil {
			return nil, "", err
		}
		return nil, fmt.Sprintf("kill -9 replica %d (pid %d), started again", i, pid), r.rig.startReplica(i)
	case faultHandOver:
		return nil, "", nil // see handOver
	case faultCut:
		r.rig.proxy.Cut()
	case faultBlackhole:
		r.rig.proxy.Blackhole()
	case faultRestartCP:
		if err := world.ControlPlane.StopAPIServer(); err != nil {
			return nil, "", err
		}
	case faultRestartApp:
		// The app cluster's API server is down only for a moment: the
		// schedule's own operations need it.
		if err := world.App.StopAPIServer(); err != nil {
			return nil, "", err
		}
		hold := time.Duration(1000+r.rng.IntN(3000)) * time.Millisecond
		time.Sleep(hold) // the outage itself, not a wait for a condition
		return nil, fmt.Sprintf("app API server down for %s", hold), world.App.StartAPIServer()
	default:
		return nil, "", fmt.Errorf("unknown fault %q", s.kind)
	}
	return &window{kind: s.kind, left: s.hold}, fmt.Sprintf("%s for %d ops", s.kind, s.hold), nil
}

// leaderTimeout bounds the wait for a leader before a hand-over: a killed
// leader holds the Lease until it expires (15 s).
const leaderTimeout = 45 * time.Second

// handOver stops (cleanly, or with kill -9, as drawn) the replica that
// leads, and starts a replacement. With no leader (a hand-over under way) it
// waits for one, up to leaderTimeout, then gives up on this hand-over.
func (r *runner) handOver() (string, error) {
	i := -1
	_ = harness.Poll(context.Background(), leaderTimeout, func() error {
		if i = r.rig.leader(); i < 0 {
			return errNoLeader
		}
		return nil
	})
	if i < 0 {
		return fmt.Sprintf("no replica led within %s: hand-over skipped", leaderTimeout), errNoLeader
	}
	c := r.rig.replicas[i]
	how := "SIGTERM"
	var err error
	if r.rng.IntN(2) == 0 {
		how, err = "kill -9", c.Kill()
	} else {
		err = c.Stop()
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("leader replica %d (pid %d) stopped with %s, replacement started", i, c.Pid(), how), r.rig.startReplica(i)
}

var errNoLeader = fmt.Errorf("no leader")

func (r *runner) endWindow(w *window) error {
	switch w.kind {
	case faultCut, faultBlackhole:
		r.rig.proxy.Restore()
	case faultRestartCP:
		return world.ControlPlane.StartAPIServer()
	}
	return nil
}
