package main

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResolveBuildInfo(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	vcs := func(rev, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}}
	}
	cases := map[string]struct {
		version, commit string
		info            *debug.BuildInfo
		want            buildInfo
	}{
		"ldflags win over the build info": {
			version: "0.1.0", commit: "abc123", info: vcs("fff", "true"),
			want: buildInfo{Version: "0.1.0", Commit: "abc123", GoVersion: "go1.99.1", Platform: platform},
		},
		"vcs.revision when no commit was set": {
			version: "dev", info: vcs("fff", "false"),
			want: buildInfo{Version: "dev", Commit: "fff", GoVersion: "go1.99.1", Platform: platform},
		},
		"a modified tree is marked dirty": {
			version: "dev", info: vcs("fff", "true"),
			want: buildInfo{Version: "dev", Commit: "fff-dirty", GoVersion: "go1.99.1", Platform: platform},
		},
		"the module version of go install": {
			version: "dev", info: &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "v0.2.0"}},
			want: buildInfo{Version: "v0.2.0", Commit: "unknown", GoVersion: "go1.99.1", Platform: platform},
		},
		"no build info at all": {
			want: buildInfo{Version: "dev", Commit: "unknown", GoVersion: runtime.Version(), Platform: platform},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := resolveBuildInfo(tc.version, tc.commit, tc.info)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("resolveBuildInfo (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	var out bytes.Buffer
	cmd := newRootCommand()
	cmd.SetArgs([]string{"version"})
	cmd.SetOut(&out)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("version: %v", err)
	}
	want := "mcp-connector dev\n"
	if got := out.String(); len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("version printed %q, want it to start with %q", got, want)
	}
}
