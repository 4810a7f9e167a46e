package lifecycle

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReleaseName(t *testing.T) {
	cases := map[string]struct {
		namespace, want string
	}{
		"Short":          {namespace: "team-a", want: "mcp-connector-team-a"},
		"Truncated":      {namespace: strings.Repeat("a", 63), want: "mcp-connector-" + strings.Repeat("a", 39)},
		"NoTrailingDash": {namespace: strings.Repeat("a", 38) + "-b", want: "mcp-connector-" + strings.Repeat("a", 38)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ReleaseName(tc.namespace)
			if diff := cmp.Diff(tc.want, got); diff != "" || len(got) > 53 {
				t.Errorf("ReleaseName(%q) (-want +got):\n%s (length %d)", tc.namespace, diff, len(got))
			}
		})
	}
}
