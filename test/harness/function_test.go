package harness

import (
	"path/filepath"
	"testing"
)

// packageCacheFile must name the file crossplane-runtime's package cache opens (xpkg.FriendlyID + ".gz"); the
// wanted values are what xpkg.FriendlyID v2.3.3 returns for the same inputs.
func TestPackageCacheFile(t *testing.T) {
	for _, tc := range []struct {
		name, source, digest, want string
	}{
		{
			name:   "the harness's package",
			source: "example.test/fns/function-patch-and-transform", digest: "sha256:0123456789abcdef",
			want: "example-test-fns-function-patch-and-transform-sha256-01234.gz",
		},
		{
			name:   "source cut at 50 bytes",
			source: "xpkg.upbound.io/crossplane-contrib/function-patch-and-transform-with-a-long-name", digest: "sha256:ffeeddccbbaa99",
			want: "xpkg-upbound-io-crossplane-contrib-function-patch--sha256-ffeed.gz",
		},
		{
			name:   "other bytes dropped, dashes trimmed",
			source: "-Reg.io/A_b/c-", digest: "sha256:1",
			want: "eg-io-b-c--sha256-1.gz",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := packageCacheFile("/cache", tc.source, tc.digest); got != filepath.Join("/cache", tc.want) {
				t.Errorf("packageCacheFile = %q, want %q", got, filepath.Join("/cache", tc.want))
			}
		})
	}
}
