package main

import (
	"os"
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
