package soak

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSoak is `make soak`: a seeded schedule of claim operations and faults,
// the invariants checked all the way and at the end, and a report. Any
// violation fails it.
func TestSoak(t *testing.T) {
	cfg, err := configFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.report, err = filepath.Abs(cfg.report); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("soak: seed %d, %d operations (SOAK_SEED=%d reruns this schedule)\n", cfg.seed, cfg.ops, cfg.seed)
	began := time.Now()
	rep := newReport(cfg.seed, cfg.ops)
	r, err := newRig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.stop()
	a := newAudit(&rep.inv, r.namespace, r.clusterID, appNamespaces)
	if err := a.start(); err != nil {
		t.Fatal(err)
	}
	defer a.stop()
	run := &runner{rng: rand.New(rand.NewPCG(cfg.seed, 1)), model: newModel(), audit: a, rig: r, cfg: cfg, rep: rep}
	steps := plan(rand.New(rand.NewPCG(cfg.seed, 0)), cfg.ops)

	scheduleStart := time.Now()
	err = run.schedule(steps)
	rep.ScheduleDuration = time.Since(scheduleStart).Round(time.Second).String()
	logPath := strings.TrimSuffix(cfg.report, filepath.Ext(cfg.report)) + ".log"
	_ = os.MkdirAll(filepath.Dir(logPath), 0o755)
	if werr := os.WriteFile(logPath, []byte(strings.Join(run.log, "\n")+"\n"), 0o644); werr != nil {
		t.Error(werr)
	}
	if err != nil {
		t.Fatalf("the schedule stopped (operation log %s): %v", logPath, err)
	}
	fmt.Printf("soak: schedule done in %s; converging\n", rep.ScheduleDuration)

	took, converged := run.converge()
	rep.ConvergeAfter = took.Round(100 * time.Millisecond).String()
	if converged {
		restTook, err := run.atRest()
		if err != nil {
			t.Error(err)
		}
		rep.RestAfter = restTook.Round(100 * time.Millisecond).String()
	}
	for _, c := range run.model.claims {
		rep.FinalClaims[c.state.String()]++
	}
	rep.Duration = time.Since(began).Round(time.Second).String()
	jsonPath, err := rep.write(cfg.report)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Print(rep.markdown())
	fmt.Printf("soak: report %s (JSON %s, operation log %s)\n", cfg.report, jsonPath, logPath)
	if n := rep.violations(); n > 0 {
		t.Errorf("%d invariant violations (seed %d); see %s", n, cfg.seed, cfg.report)
	}
	if !converged {
		t.Errorf("the clusters did not converge within %s after the last fault (seed %d)", cfg.converge, cfg.seed)
	}
}

// schedule runs the steps, pacing the operations, and ends every fault
// after the last step.
func (r *runner) schedule(steps []step) error {
	var win *window
	for i, s := range steps {
		if n, err := r.rig.restartExited(); err != nil {
			return err
		} else if n > 0 {
			r.rep.SelfExits += n
			r.logf(i, "%d connector replica(s) had exited by themselves; started again", n)
		}
		if win != nil && (win.left <= 0 || (s.fault && windowFaults[s.kind])) {
			if err := r.endWindow(win); err != nil {
				return err
			}
			r.logf(i, "end %s", win.kind)
			win = nil
		}
		if i%10 == 0 {
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			err := r.observe(ctx)
			cancel()
			if err != nil {
				r.logf(i, "observe: %v", err)
			}
		}
		if s.fault {
			if err := r.runFault(i, s, &win); err != nil {
				return err
			}
			continue
		}
		what, err := r.op(s.kind)
		r.rep.Operations[s.kind]++
		if err != nil {
			r.rep.Rejected[s.kind]++
			r.logf(i, "%s: rejected: %v", what, err)
		} else {
			r.logf(i, "%s", what)
		}
		if win != nil {
			win.left--
		}
		// Pacing keeps the run in budget; it is the load, not a wait.
		time.Sleep(time.Duration(50+r.rng.IntN(150)) * time.Millisecond)
	}
	if win != nil {
		if err := r.endWindow(win); err != nil {
			return err
		}
		r.logf(len(steps), "end %s", win.kind)
	}
	n, err := r.rig.restartExited()
	r.rep.SelfExits += n
	return err
}

func (r *runner) runFault(i int, s step, win **window) error {
	var what string
	var err error
	if s.kind == faultHandOver {
		what, err = r.handOver()
		if errors.Is(err, errNoLeader) {
			r.logf(i, "%s", what)
			return nil
		}
	} else {
		var w *window
		if w, what, err = r.fault(s); w != nil {
			*win = w
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", s.kind, err)
	}
	r.rep.Faults[s.kind]++
	r.logf(i, "FAULT %s", what)
	return nil
}

func (r *runner) logf(i int, format string, args ...any) {
	r.log = append(r.log, fmt.Sprintf("%s %4d %s", time.Now().UTC().Format("15:04:05.000"), i, fmt.Sprintf(format, args...)))
}
