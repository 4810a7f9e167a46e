package controlplane

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
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

func TestProbeTimeout(t *testing.T) {
	cases := map[string]struct {
		reason   string
		away     bool
		timedOut int
		want     time.Duration
	}{
		"Reachable":         {"A control plane that answers may take its time.", false, 0, 10 * time.Second},
		"ReachableTimedOut": {"Timeouts counted before do not shorten a probe of a reachable control plane.", false, 3, 10 * time.Second},
		"Away":              {"A control plane that stopped answering gets a short probe.", true, 0, 2 * time.Second},
		"AwayTimedOutOnce":  {"Each probe that ran out of time doubles the next one's.", true, 1, 4 * time.Second},
		"AwayTimedOutTwice": {"Each probe that ran out of time doubles the next one's.", true, 2, 8 * time.Second},
		"AwayCapped":        {"Never longer than a probe of a reachable control plane.", true, 3, 10 * time.Second},
		"AwayManyTimes":     {"The doubling does not overflow.", true, 1000, 10 * time.Second},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := probeTimeout(tc.away, tc.timedOut); got != tc.want {
				t.Errorf("%s\nprobeTimeout(%t, %d) = %s, want %s", tc.reason, tc.away, tc.timedOut, got, tc.want)
			}
		})
	}
}

// TestProbeGivesUpOnAHungHandshake: an API server that accepts connections
// but never completes a TLS handshake (as one that is still starting can)
// holds a probe of a control plane that is away for the probe's own short
// deadline, not for the transport's 10 s handshake timeout; the next probe
// gets twice as long.
func TestProbeGivesUpOnAHungHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		var held []net.Conn // accepted, never answered
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(corev1.SchemeGroupVersion.WithKind("ConfigMap"), meta.RESTScopeNamespace)
	c, err := client.New(&rest.Config{Host: "https://" + ln.Addr().String(), TLSClientConfig: rest.TLSClientConfig{Insecure: true}},
		client.Options{Mapper: mapper})
	if err != nil {
		t.Fatal(err)
	}
	gate := NewGate(t0)
	gate.Set(GateState{Reason: condition.ReasonUnreachable, Message: "connection refused"}, t0)
	m := &Monitor{Reader: c, Namespace: "team-a", Gate: gate, Lease: &ClusterLease{}}

	s := m.Probe(context.Background())
	if s.Reachable || s.Reason != condition.ReasonUnreachable {
		t.Fatalf("a hung handshake: state %+v, want unreachable", s)
	}
	if !strings.Contains(s.Message, context.DeadlineExceeded.Error()) || strings.Contains(s.Message, "TLS handshake timeout") {
		t.Errorf("the probe waited for the transport, not its own deadline: %q", s.Message)
	}
	if m.timedOut != 1 {
		t.Errorf("probes in a row that ran out of time: %d, want 1", m.timedOut)
	}
}
