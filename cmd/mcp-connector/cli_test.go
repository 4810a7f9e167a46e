//go:build !runonly

package main

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCLICommandsListed: the image's binary answers every command of the
// CLI it leaves out (cli_runonly.go), so cliOnly names each one the CLI adds.
func TestCLICommandsListed(t *testing.T) {
	var got []string
	for _, c := range newRootCommand().Commands() {
		if n := c.Name(); n != "run" && n != "version" && n != "help" && n != "completion" {
			got = append(got, n)
		}
	}
	want := slices.Clone(cliOnly)
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the CLI's commands besides run and version: -cliOnly, +added:\n%s", diff)
	}
}
