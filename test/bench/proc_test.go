package main

import (
	"bytes"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
)

// TestProcStatus reads this test's own process: the sizes are in bytes and
// the resident set is its anonymous plus its file-backed part.
func TestProcStatus(t *testing.T) {
	s, err := readProcStats(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	parts := readRSSParts(os.Getpid())
	if s.RSS < 1<<20 || s.PeakRSS < s.RSS {
		t.Errorf("RSS %d, peak %d bytes: want at least 1 MiB, peak at least RSS", s.RSS, s.PeakRSS)
	}
	if parts.Anon <= 0 || parts.File <= 0 {
		t.Errorf("RssAnon %d, RssFile %d bytes: want both above zero", parts.Anon, parts.File)
	}
	// VmRSS is RssAnon + RssFile + RssShmem, read a moment apart.
	if sum := parts.Anon + parts.File; sum > s.RSS+(8<<20) || sum < s.RSS/2 {
		t.Errorf("RssAnon+RssFile = %d bytes, VmRSS %d", sum, s.RSS)
	}
	if _, err := procStatus(-1); err == nil {
		t.Error("procStatus(-1): want an error")
	}
}

// TestParseMemStats reads the runtime.MemStats lines of this process's own
// heap profile in its text form, as the connector's /debug/pprof/heap?debug=1
// serves it.
func TestParseMemStats(t *testing.T) {
	runtime.GC()
	var buf bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&buf, 1); err != nil {
		t.Fatal(err)
	}
	var want runtime.MemStats
	runtime.ReadMemStats(&want)
	m := parseMemStats(buf.String())
	if m.Alloc <= 0 || m.Inuse < m.Alloc || m.Stack <= 0 || m.NextGC <= 0 {
		t.Errorf("parsed %+v: want a live heap, spans holding it, stacks and a goal", m)
	}
	if m.Sys != int64(want.Sys) && (m.Sys < int64(want.Sys)/2 || m.Sys > int64(want.Sys)*2) {
		t.Errorf("Sys = %d, the runtime says %d", m.Sys, want.Sys)
	}
	if m.Idle < m.Released || m.retained() != m.Idle-m.Released {
		t.Errorf("idle %d, released %d", m.Idle, m.Released)
	}
}
