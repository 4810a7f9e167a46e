package lifecycle

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func TestClaimGroups(t *testing.T) {
	cases := map[string]struct {
		in   []string
		want []string
	}{
		"None":              {in: nil, want: nil},
		"SortedAndDistinct": {in: []string{"b.org", "a.org", "b.org"}, want: []string{"a.org", "b.org"}},
		"EmptyLeftOut":      {in: []string{"", "a.org"}, want: []string{"a.org"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ClaimGroups(tc.in)); diff != "" {
				t.Errorf("ClaimGroups(%v) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestNamespaceRules(t *testing.T) {
	cases := map[string]struct {
		groups    []string
		wantClaim *rbacv1.PolicyRule
	}{
		"NoGroupNoClaimRule": {groups: nil},
		"GroupsSorted": {groups: []string{"z.org", "a.org"}, wantClaim: &rbacv1.PolicyRule{APIGroups: []string{"a.org", "z.org"}, Resources: []string{"*"},
			Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rules := NamespaceRules(tc.groups)
			var claim *rbacv1.PolicyRule
			for i, r := range rules {
				for _, res := range r.Resources {
					if res == "*" {
						claim = &rules[i]
					}
				}
				// Nothing in the namespace but claims is written, except the
				// holder record and the Lease; Secrets are only read.
				if r.Resources[0] == "secrets" {
					if diff := cmp.Diff([]string{"get", "list", "watch"}, r.Verbs); diff != "" {
						t.Errorf("Secrets verbs (-want +got):\n%s", diff)
					}
				}
				for _, g := range r.APIGroups {
					if g == "*" {
						t.Errorf("rule %v names every API group", r)
					}
				}
			}
			if diff := cmp.Diff(tc.wantClaim, claim); diff != "" {
				t.Errorf("claim rule (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClusterRulesOnlyRead(t *testing.T) {
	for _, r := range ClusterRules("team-a") {
		for _, v := range r.Verbs {
			switch {
			case v == "get" || v == "list" || v == "watch":
			case v == "delete" && len(r.ResourceNames) == 1 && r.ResourceNames[0] == IdentityClusterRoleName("team-a"):
			default:
				t.Errorf("cluster-wide rule %v grants %s", r, v)
			}
		}
	}
}

func TestIdentityObjects(t *testing.T) {
	var got []string
	for _, o := range IdentityObjects("team-a", []string{"a.org"}) {
		got = append(got, o.GetObjectKind().GroupVersionKind().Kind+" "+o.GetNamespace()+"/"+o.GetName()+" "+o.GetLabels()[LabelIdentityFor])
	}
	want := []string{
		"ServiceAccount team-a/mcp-connector team-a",
		"Role team-a/mcp-connector team-a",
		"RoleBinding team-a/mcp-connector team-a",
		"ClusterRole /mcp-connector:team-a team-a",
		"ClusterRoleBinding /mcp-connector:team-a team-a",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IdentityObjects (-want +got):\n%s", diff)
	}
}

func TestTokenKubeconfig(t *testing.T) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cp"] = &clientcmdapi.Cluster{Server: "https://cp:6443", CertificateAuthorityData: []byte("ca")}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: []byte("cert"), ClientKeyData: []byte("key")}
	cfg.Contexts["cp"] = &clientcmdapi.Context{Cluster: "cp", AuthInfo: "admin"}
	cfg.CurrentContext = "cp"
	in, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tokenKubeconfig(in, "robot-token")
	if err != nil {
		t.Fatal(err)
	}
	got, err := clientcmd.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{IdentityName: "robot-token"}, tokens(got)); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	if u := got.AuthInfos[IdentityName]; len(u.ClientCertificateData)+len(u.ClientKeyData) > 0 {
		t.Errorf("the stored kubeconfig keeps the given client certificate")
	}
	if c := got.Clusters["cp"]; c.Server != "https://cp:6443" || string(c.CertificateAuthorityData) != "ca" {
		t.Errorf("cluster %+v, want the given server and CA", c)
	}
}

func tokens(cfg *clientcmdapi.Config) map[string]string {
	out := map[string]string{}
	for name, u := range cfg.AuthInfos {
		out[name] = u.Token
	}
	return out
}
