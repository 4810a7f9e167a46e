package chart

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// Where the chart mounts the control-plane credentials.
const credentialsDir = "/etc/mcp-connector/control-plane"

// base is the smallest valid set of values: a control-plane namespace and a
// kubeconfig Secret.
func base() values {
	return values{
		"mcp":          map[string]any{"namespace": "team-a"},
		"controlPlane": map[string]any{"kubeconfigSecret": map[string]any{"name": "cp-kubeconfig"}},
	}
}

// tokenBase is the smallest valid set of values in token mode.
func tokenBase() values {
	return values{"mcp": map[string]any{"namespace": "team-a", "account": "acme", "name": "ctp1", "token": "upbound-token"}}
}

// validCase is a way to configure the chart and what it must render.
type validCase struct {
	name   string
	values values
	// check asserts what is special about the case; checkCommon runs for every case.
	check func(t *testing.T, m *manifest)
}

func validCases() []validCase {
	return []validCase{
		{name: "kubeconfig Secret for any Crossplane", values: base(), check: checkKubeconfigDefaults},
		{
			name: "mcp.secret for Upbound Spaces with another key",
			values: values{"mcp": map[string]any{"namespace": "team-a",
				"secret": map[string]any{"name": "ctp1-kubeconfig", "key": "config"}}},
			check: func(t *testing.T, m *manifest) {
				checkKubeconfigMount(t, m, "ctp1-kubeconfig", "config")
			},
		},
		{name: "Upbound token", values: tokenBase(), check: checkToken},
		{
			name: "Upbound token with a CA bundle and another base URL",
			values: tokenBase().with("mcp.baseURL", "https://proxy.example.org/v1/controlPlanes/").
				with("mcp.caBundle", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
			check: checkTokenWithCA,
		},
		{
			name:   "two replicas",
			values: base().with("replicaCount", 2),
			check: func(t *testing.T, m *manifest) {
				d := m.deployment(t)
				if got := *d.Spec.Replicas; got != 2 {
					t.Errorf("replicas = %d, want 2", got)
				}
				wantArg(t, m, "leader-elect", "true")
			},
		},
		{
			name:   "explicit cluster id and connection name",
			values: base().with("clusterID", "cluster-1").with("connectionName", "conn-x"),
			check: func(t *testing.T, m *manifest) {
				wantArg(t, m, "cluster-id", "cluster-1")
				wantArg(t, m, "connection-name", "conn-x")
				for _, r := range m.clusterRole(t).Rules {
					if slices.Contains(r.Resources, "namespaces") && slices.Contains(r.Verbs, "get") {
						t.Errorf("with clusterID set the connector reads no namespace (it only watches their metadata), but the ClusterRole grants %v", r)
					}
				}
			},
		},
		{
			name:   "lease in another namespace",
			values: base().with("leaderElection.namespace", "leases"),
			check: func(t *testing.T, m *manifest) {
				wantArg(t, m, "leader-election-namespace", "leases")
			},
		},
		{
			name:   "leader election off",
			values: base().with("leaderElection.enabled", false),
			check: func(t *testing.T, m *manifest) {
				wantArg(t, m, "leader-elect", "false")
				for _, kind := range []string{"Role", "RoleBinding"} {
					for _, o := range m.find(kind) {
						if strings.HasSuffix(o.GetName(), "-leader-election") {
							t.Errorf("leader election is off, but %s %s was rendered", kind, o.GetName())
						}
					}
				}
			},
		},
		{name: "every option set", values: everything(), check: checkEverything},
	}
}

func everything() values {
	return base().
		with("rbac.claimAPIGroups", []any{"platform.example.org", "k8s.starter.org"}).
		with("localOnly.labels", []any{"team.example.org/*", "owner"}).
		with("localOnly.annotations", []any{"notes.example.org/*"}).
		with("extraArgs", []any{"--zap-time-encoding=rfc3339"}).
		with("logging", map[string]any{"level": 3, "encoder": "console"}).
		with("workers", 2).with("kubeAPI", map[string]any{"qps": 20.5, "burst": 40}).
		with("probeInterval", "2s").with("resyncPeriod", "1h30m").with("recreateGrace", "0").with("stalePeriod", "0s").
		with("adopt", true).with("takeoverNamespace", true).
		with("ports", map[string]any{"metrics": 9090, "healthProbe": 9091}).
		with("metrics.service.enabled", false).
		with("serviceAccount.name", "connector").
		with("image", map[string]any{"repository": "registry.example.org/mcp-connector", "tag": "v9.9.9", "pullPolicy": "Always"})
}

func checkKubeconfigDefaults(t *testing.T, m *manifest) {
	checkKubeconfigMount(t, m, "cp-kubeconfig", "kubeconfig")
	wantArg(t, m, "connection-name", "team-a")
	wantArg(t, m, "leader-elect", "true")
	if got := m.deployment(t).Spec.Template.Spec.Containers[0].Image; got != "ghcr.io/mcp-connector/mcp-connector:0.1.0" {
		t.Errorf("image = %s, want the appVersion tag", got)
	}
	if got := claimGroups(t, m); !slices.Equal(got, []string{"*"}) {
		t.Errorf("claim API groups = %v, want the documented default [*]", got)
	}
}

// checkKubeconfigMount asserts kubeconfig mode: the Secret's key mounted as
// the file --control-plane-kubeconfig names, and nothing of token mode.
func checkKubeconfigMount(t *testing.T, m *manifest, secret, key string) {
	t.Helper()
	wantArg(t, m, "control-plane-kubeconfig", credentialsDir+"/kubeconfig")
	wantArg(t, m, "control-plane-kubeconfig-secret", secret) // where a renewed token is stored
	wantArg(t, m, "control-plane-kubeconfig-secret-key", key)
	for _, f := range []string{"control-plane-server", "control-plane-token-file", "control-plane-ca-file"} {
		noArg(t, m, f)
	}
	if n := len(m.find("Secret")); n != 0 {
		t.Errorf("kubeconfig mode rendered %d Secrets, want none (the Secret exists already)", n)
	}
	src := credentialsVolume(t, m).Secret
	want := []corev1.KeyToPath{{Key: key, Path: "kubeconfig"}}
	if src.SecretName != secret || !slices.Equal(src.Items, want) {
		t.Errorf("credentials volume = Secret %s items %v, want Secret %s items %v", src.SecretName, src.Items, secret, want)
	}
}

func checkToken(t *testing.T, m *manifest) {
	wantArg(t, m, "control-plane-server", "https://proxy.upbound.io/v1/controlPlanes/acme/ctp1/k8s")
	wantArg(t, m, "control-plane-token-file", credentialsDir+"/token")
	noArg(t, m, "control-plane-ca-file")
	noArg(t, m, "control-plane-kubeconfig")
	noArg(t, m, "control-plane-kubeconfig-secret")
	s := tokenSecret(t, m)
	if got := string(s.Data["token"]); got != "upbound-token" || len(s.Data) != 1 {
		t.Errorf("token Secret holds %d keys, token %q; want only the token", len(s.Data), got)
	}
	if got := credentialsVolume(t, m).Secret.SecretName; got != s.Name {
		t.Errorf("credentials volume mounts Secret %s, want the token Secret %s", got, s.Name)
	}
	if m.deployment(t).Spec.Template.Annotations["checksum/control-plane-token"] == "" {
		t.Error("no checksum/control-plane-token annotation: a new token would not roll the pods")
	}
}

func checkTokenWithCA(t *testing.T, m *manifest) {
	wantArg(t, m, "control-plane-server", "https://proxy.example.org/v1/controlPlanes/acme/ctp1/k8s")
	wantArg(t, m, "control-plane-ca-file", credentialsDir+"/ca.crt")
	if got := string(tokenSecret(t, m).Data["ca.crt"]); !strings.HasPrefix(got, "-----BEGIN CERTIFICATE-----") {
		t.Errorf("ca.crt in the token Secret = %q, want the CA bundle", got)
	}
}

func checkEverything(t *testing.T, m *manifest) {
	if got := claimGroups(t, m); !slices.Equal(got, []string{"platform.example.org", "k8s.starter.org"}) {
		t.Errorf("claim API groups = %v", got)
	}
	a := args(m.deployment(t))
	want := map[string][]string{
		"local-only-label":      {"team.example.org/*", "owner"},
		"local-only-annotation": {"notes.example.org/*"},
		"zap-time-encoding":     {"rfc3339"},
		"zap-log-level":         {"3"}, "zap-encoder": {"console"},
		"workers": {"2"}, "kube-api-qps": {"20.5"}, "kube-api-burst": {"40"},
		"probe-interval": {"2s"}, "resync-period": {"1h30m"}, "recreate-grace": {"0"}, "stale-period": {"0s"},
		"adopt": {"true"}, "takeover-namespace": {"true"},
		"metrics-bind-address": {":9090"}, "health-probe-bind-address": {":9091"},
	}
	for flag, v := range want {
		if !slices.Equal(a[flag], v) {
			t.Errorf("--%s = %v, want %v", flag, a[flag], v)
		}
	}
	if n := len(m.find("Service")); n != 0 {
		t.Errorf("metrics.service.enabled=false rendered %d Services", n)
	}
	c := m.deployment(t).Spec.Template.Spec
	if c.ServiceAccountName != "connector" || c.Containers[0].Image != "registry.example.org/mcp-connector:v9.9.9" ||
		c.Containers[0].ImagePullPolicy != corev1.PullAlways {
		t.Errorf("service account %s, image %s (%s): not what the values say", c.ServiceAccountName, c.Containers[0].Image, c.Containers[0].ImagePullPolicy)
	}
}

func wantArg(t *testing.T, m *manifest, flag, value string) {
	t.Helper()
	if got := args(m.deployment(t))[flag]; !slices.Equal(got, []string{value}) {
		t.Errorf("--%s = %v, want [%s]", flag, got, value)
	}
}

func noArg(t *testing.T, m *manifest, flag string) {
	t.Helper()
	if got, ok := args(m.deployment(t))[flag]; ok {
		t.Errorf("--%s = %v, want it not passed", flag, got)
	}
}

func credentialsVolume(t *testing.T, m *manifest) corev1.Volume {
	t.Helper()
	for _, v := range m.deployment(t).Spec.Template.Spec.Volumes {
		if v.Name == "control-plane" && v.Secret != nil {
			return v
		}
	}
	t.Fatal("no Secret volume named control-plane")
	return corev1.Volume{}
}

func tokenSecret(t *testing.T, m *manifest) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	m.one(t, "Secret", s)
	return s
}

// claimGroups returns the API groups of the ClusterRole's claim rule (the one
// with resources ["*"]), and checks that the */status rule has the same.
func claimGroups(t *testing.T, m *manifest) []string {
	t.Helper()
	var claims, status *rbacv1.PolicyRule
	r := m.clusterRole(t)
	for i := range r.Rules {
		switch {
		case slices.Equal(r.Rules[i].Resources, []string{"*"}):
			claims = &r.Rules[i]
		case slices.Equal(r.Rules[i].Resources, []string{"*/status"}):
			status = &r.Rules[i]
		}
	}
	if claims == nil || status == nil {
		t.Fatalf("the ClusterRole has no claim rule or no */status rule: %v", r.Rules)
	}
	if !slices.Equal(claims.APIGroups, status.APIGroups) {
		t.Errorf("claim rule groups %v differ from */status rule groups %v", claims.APIGroups, status.APIGroups)
	}
	return claims.APIGroups
}
