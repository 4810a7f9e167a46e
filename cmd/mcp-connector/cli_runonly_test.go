//go:build runonly

package main

import (
	"strings"
	"testing"
)

// TestRunOnlyAnswersCLICommands: the image's binary runs the connector and
// tells whoever runs a CLI command in it where the CLI is, without running
// anything else. (go test -tags runonly: test/run.)
func TestRunOnlyAnswersCLICommands(t *testing.T) {
	for _, name := range cliOnly {
		cmd := newRootCommand()
		cmd.SetArgs([]string{name, "--kubeconfig=/nonexistent", "x"})
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), "not in this build") || !strings.Contains(err.Error(), "go install") {
			t.Errorf("%s in the runonly build: error %v, want one that says where the CLI is", name, err)
		}
	}
	have := map[string]bool{}
	for _, c := range newRootCommand().Commands() {
		if !c.Hidden {
			have[c.Name()] = true
		}
	}
	for _, name := range []string{"run", "version"} {
		if !have[name] {
			t.Errorf("the runonly build has no %s command", name)
		}
	}
	for _, name := range cliOnly {
		if have[name] {
			t.Errorf("the runonly build lists %s in its help", name)
		}
	}
}
