package chart

import (
	"strings"
	"testing"
)

// TestRenderRefuses checks that the templates refuse what the schema cannot
// express, with a message that says what to do.
func TestRenderRefuses(t *testing.T) {
	secret := map[string]any{"name": "ctp1-kubeconfig"}
	cases := map[string]struct {
		values values
		want   string
	}{
		"no credentials": {
			values: values{"mcp": map[string]any{"namespace": "team-a"}},
			want:   "no control-plane credentials: set exactly one of mcp.token",
		},
		"token and mcp.secret": {
			values: tokenBase().with("mcp.secret", secret),
			want:   "more than one control-plane credential given (mcp.token, mcp.secret.name): set exactly one",
		},
		"mcp.secret and controlPlane.kubeconfigSecret": {
			values: base().with("mcp.secret", secret),
			want:   "more than one control-plane credential given (mcp.secret.name, controlPlane.kubeconfigSecret.name)",
		},
		"all three": {
			values: tokenBase().with("mcp.secret", secret).with("controlPlane.kubeconfigSecret.name", "cp"),
			want:   "(mcp.token, mcp.secret.name, controlPlane.kubeconfigSecret.name)",
		},
		"token without account": {
			values: tokenBase().with("mcp.account", ""),
			want:   "mcp.token needs mcp.account and mcp.name",
		},
		"token without control-plane name": {
			values: tokenBase().with("mcp.name", ""),
			want:   "mcp.token needs mcp.account and mcp.name",
		},
		"metrics and health on one port": {
			values: base().with("ports", map[string]any{"metrics": 8081, "healthProbe": 8081}),
			want:   "ports.metrics and ports.healthProbe must differ",
		},
		"ServiceMonitor and PodMonitor": {
			values: base().with("metrics.serviceMonitor.enabled", true).with("metrics.podMonitor.enabled", true),
			want:   "metrics.serviceMonitor.enabled and metrics.podMonitor.enabled are both true",
		},
		"ServiceMonitor without the metrics Service": {
			values: base().with("metrics.serviceMonitor.enabled", true).with("metrics.service.enabled", false),
			want:   "metrics.serviceMonitor.enabled needs metrics.service.enabled",
		},
		"Argo CD health checks without APIs": {
			values: base().with("argocd.healthChecks.enabled", true),
			want:   "argocd.healthChecks.enabled needs argocd.healthChecks.apis",
		},
		"existing ServiceAccount without a name": {
			values: base().with("serviceAccount.create", false),
			want:   "serviceAccount.name is required when serviceAccount.create is false",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := render(t, testRelease, testNamespace, c.values)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("render: %v\nwant an error containing %q", err, c.want)
			}
		})
	}
}

// TestSchemaRejects checks that values.schema.json rejects wrong types,
// formats and the combinations it can express, naming the value.
func TestSchemaRejects(t *testing.T) {
	cases := map[string]struct {
		values values
		want   string
	}{
		"no namespace":                    {base().with("mcp.namespace", ""), "at '/mcp/namespace': minLength"},
		"namespace not a DNS label":       {base().with("mcp.namespace", "Team_A"), "at '/mcp/namespace'"},
		"misspelt value":                  {base().with("mcp.tokn", "x"), "additional properties 'tokn' not allowed"},
		"two replicas without election":   {base().with("replicaCount", 2).with("leaderElection.enabled", false), "at '/leaderElection/enabled': value must be true"},
		"replicas as a string":            {base().with("replicaCount", "2"), "at '/replicaCount'"},
		"no workers":                      {base().with("workers", 0), "at '/workers'"},
		"no rate":                         {base().with("kubeAPI.qps", 0), "at '/kubeAPI/qps'"},
		"duration in words":               {base().with("resyncPeriod", "10 hours"), "at '/resyncPeriod'"},
		"unknown log encoder":             {base().with("logging.encoder", "xml"), "at '/logging/encoder'"},
		"unknown log level":               {base().with("logging.level", "verbose"), "at '/logging/level'"},
		"unknown pull policy":             {base().with("image.pullPolicy", "Sometimes"), "at '/image/pullPolicy'"},
		"cluster id too long":             {base().with("clusterID", strings.Repeat("a", 64)), "at '/clusterID'"},
		"connection name not DNS":         {base().with("connectionName", "Conn_X"), "at '/connectionName'"},
		"no claim API groups":             {base().with("rbac.claimAPIGroups", []any{}), "at '/rbac/claimAPIGroups'"},
		"metrics published":               {base().with("metrics.service.type", "LoadBalancer"), "at '/metrics/service/type'"},
		"base URL without scheme":         {tokenBase().with("mcp.baseURL", "proxy.upbound.io"), "at '/mcp/baseURL'"},
		"port out of range":               {base().with("ports.metrics", 70000), "at '/ports/metrics'"},
		"probe overridden with a command": {base().with("livenessProbe.exec", map[string]any{"command": []any{"true"}}), "additional properties 'exec' not allowed"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := render(t, testRelease, testNamespace, c.values)
			if err == nil || !strings.Contains(err.Error(), "don't meet the specifications of the schema") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("render: %v\nwant a schema error containing %q", err, c.want)
			}
		})
	}
}
