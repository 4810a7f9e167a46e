package sync

import "testing"

func TestUpboundRemoteName(t *testing.T) {
	// Expected names computed outside Go (printf '<name>-x-<namespace>-x-<cluster>' | sha256sum).
	cases := map[string]struct {
		clusterID, namespace, name string
		namespacedXR               bool
		want                       string
	}{
		"Claim":         {clusterID: "c1", namespace: "team-a", name: "db", want: "claim-e7d3776f2056a03f"},
		"NamespacedXR":  {clusterID: "c1", namespace: "team-a", name: "db", namespacedXR: true, want: "nxr-e7d3776f2056a03f"},
		"OtherCluster":  {clusterID: "c2", namespace: "team-a", name: "db", want: "claim-eb8069ed93949d40"},
		"OtherName":     {clusterID: "c1", namespace: "team-a", name: "a", want: "claim-bc75c305788d7641"},
		"KubeSystemUID": {clusterID: "uid-1", namespace: "default", name: "my-db", want: "claim-50c92e861b7a7536"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := UpboundRemoteName(tc.clusterID, tc.namespace, tc.name, tc.namespacedXR); got != tc.want {
				t.Errorf("UpboundRemoteName(%q, %q, %q, %v) = %q, want %q", tc.clusterID, tc.namespace, tc.name, tc.namespacedXR, got, tc.want)
			}
		})
	}
}
