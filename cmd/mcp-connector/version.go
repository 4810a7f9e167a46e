package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// commit is set at build time with -ldflags "-X main.commit=...". Empty: the
// vcs.revision that `go build` recorded, if any.
var commit = ""

// buildInfo is what `mcp-connector version` prints.
type buildInfo struct {
	Version   string
	Commit    string
	GoVersion string
	Platform  string
}

// resolveBuildInfo combines the values set with -ldflags and what the Go
// toolchain recorded in the binary (info may be nil): the ldflags win, then
// the module version and vcs.revision (with "-dirty" for a modified tree),
// then "dev" and "unknown".
func resolveBuildInfo(ldVersion, ldCommit string, info *debug.BuildInfo) buildInfo {
	b := buildInfo{Version: ldVersion, Commit: ldCommit, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info != nil {
		b.GoVersion = info.GoVersion
		if b.Version == "" || b.Version == "dev" {
			if v := info.Main.Version; v != "" && v != "(devel)" {
				b.Version = v
			}
		}
		if b.Commit == "" {
			b.Commit = vcsRevision(info.Settings)
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

func vcsRevision(settings []debug.BuildSetting) string {
	var rev, modified string
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" && modified == "true" {
		rev += "-dirty"
	}
	return rev
}

// currentBuildInfo is the build information of this binary.
func currentBuildInfo() buildInfo {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	return resolveBuildInfo(version, commit, info)
}

func (b buildInfo) print(w io.Writer) error {
	_, err := fmt.Fprintf(w, "mcp-connector %s\ncommit: %s\ngo: %s\nplatform: %s\n", b.Version, b.Commit, b.GoVersion, b.Platform)
	return err
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit and the Go version of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return currentBuildInfo().print(cmd.OutOrStdout())
		},
	}
}
