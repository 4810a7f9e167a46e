package controlplane

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/sync/condition"
)

// TestLogTransition: an outage logs once at Info, then only at debug level;
// the return logs once at Info.
func TestLogTransition(t *testing.T) {
	type line struct {
		Level int
		Msg   string
	}
	var got []line
	logger := funcr.New(func(prefix, args string) {}, funcr.Options{Verbosity: 1})
	logger = logr.New(&recordingSink{LogSink: logger.GetSink(), record: func(level int, msg string) { got = append(got, line{level, msg}) }})
	ctx := log.IntoContext(context.Background(), logger)

	open := GateState{Open: true, Reachable: true, Reason: condition.ReasonReady}
	away := GateState{Reason: condition.ReasonUnreachable, Message: "connection refused"}
	awayOther := GateState{Reason: condition.ReasonUnreachable, Message: "i/o timeout"}
	states := []GateState{NewGate(t0).State(), open, open, away, away, awayOther, away, open}
	for i := 1; i < len(states); i++ {
		logTransition(ctx, states[i-1], states[i], "cp-ns", time.Second)
	}
	want := []line{
		{0, "Control plane reachable, syncing"},
		{0, "Control plane unreachable, retrying with backoff"},
		{1, "Control plane still unreachable"},
		{1, "Control plane still unreachable"},
		{1, "Control plane still unreachable"},
		{0, "Control plane reachable, syncing"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
}

// recordingSink records the level and message of every enabled Info line.
type recordingSink struct {
	logr.LogSink
	record func(level int, msg string)
}

func (s *recordingSink) Info(level int, msg string, kv ...any) {
	if s.Enabled(level) {
		s.record(level, msg)
	}
}

func (s *recordingSink) WithValues(kv ...any) logr.LogSink { return s }
func (s *recordingSink) WithName(string) logr.LogSink      { return s }
