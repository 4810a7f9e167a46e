package harness

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProcessStopAndKill(t *testing.T) {
	cases := map[string]struct {
		stop func(*Process) error
	}{
		"StopSendsSIGTERM": {stop: (*Process).Stop},
		"KillSendsSIGKILL": {stop: (*Process).Kill},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "sleep.log")
			p, err := startProcess("sleep", log, exec.Command("sh", "-c", "echo started; exec sleep 600"))
			if err != nil {
				t.Fatal(err)
			}
			Eventually(t, 10*time.Second, func() error {
				if !strings.Contains(p.Logs(), "started") {
					return errors.New("no output yet")
				}
				return nil
			})
			if err := tc.stop(p); err != nil {
				t.Fatal(err)
			}
			if exited, _ := p.Exited(); !exited {
				t.Fatal("process still running after stop")
			}
			if err := p.Stop(); err != nil {
				t.Fatalf("Stop of an exited process: %v", err)
			}
		})
	}
}

func TestTail(t *testing.T) {
	cases := map[string]struct {
		in   string
		n    int
		want string
	}{
		"Shorter":           {in: "a\nb\n", n: 5, want: "a\nb"},
		"Longer":            {in: "a\nb\nc\nd\n", n: 2, want: "c\nd"},
		"NoTrailingNewline": {in: "a\nb\nc", n: 2, want: "b\nc"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := tail(tc.in, tc.n); got != tc.want {
				t.Errorf("tail(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}

func TestNamespaceName(t *testing.T) {
	cases := map[string]struct {
		test       string
		wantPrefix string
	}{
		"Subtest":  {test: "TestFoo/Bar_baz", wantPrefix: "testfoo-bar-baz-"},
		"LongName": {test: "Test" + strings.Repeat("x", 80), wantPrefix: "test" + strings.Repeat("x", 46) + "-"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := namespaceName(tc.test)
			if !strings.HasPrefix(got, tc.wantPrefix) || len(got) != len(tc.wantPrefix)+6 || len(got) > 63 {
				t.Errorf("namespaceName(%q) = %q, want %q plus 6 hex digits", tc.test, got, tc.wantPrefix)
			}
		})
	}
}
