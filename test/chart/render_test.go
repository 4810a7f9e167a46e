package chart

import (
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// Release and namespace of the rendering tests.
const (
	testRelease   = "mcp"
	testNamespace = "connector-system"
)

// TestLint lints the chart strictly with each valid set of values, and checks
// that linting without values reports the one required value.
func TestLint(t *testing.T) {
	for _, c := range validCases() {
		t.Run(c.name, func(t *testing.T) {
			out, err := helm(t, "lint", "--strict", chartDir(t), "--values", valuesFile(t, c.values))
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
	t.Run("no values", func(t *testing.T) {
		out, err := helm(t, "lint", "--strict", chartDir(t))
		if err == nil || !strings.Contains(out, "/mcp/namespace") {
			t.Errorf("lint without values: err %v, output:\n%s\nwant a failure naming mcp.namespace", err, out)
		}
	})
}

// TestRender renders each valid set of values and checks what is special
// about it, plus what must hold for all: arguments the connector knows,
// secure pod defaults, probes and ports that match the flags, the Lease name
// the connector will use, and bindings to the right ServiceAccount.
func TestRender(t *testing.T) {
	known := connectorFlags(t)
	for _, c := range validCases() {
		t.Run(c.name, func(t *testing.T) {
			m := mustRender(t, testRelease, testNamespace, c.values)
			checkCommon(t, m, known)
			c.check(t, m)
		})
	}
}

func checkCommon(t *testing.T, m *manifest, known map[string]bool) {
	t.Helper()
	d := m.deployment(t)
	checkFlagsKnown(t, d, known)
	checkPodSecurity(t, d)
	checkProbesAndPorts(t, m, d)
	checkLeaseRole(t, m, d)
	checkStateRole(t, m, d)
	checkBindings(t, m, d)
	a := args(d)
	if got := a["control-plane-namespace"]; len(got) != 1 || got[0] != "team-a" {
		t.Errorf("--control-plane-namespace = %v, want [team-a]", got)
	}
	for _, o := range m.Objects {
		if cluster := o.GetKind() == "ClusterRole" || o.GetKind() == "ClusterRoleBinding"; !cluster && o.GetNamespace() == "" {
			t.Errorf("%s %s has no namespace", o.GetKind(), o.GetName())
		}
	}
	checkPendingOrphansRole(t, m)
}

var flagsOnce struct {
	sync.Once
	flags map[string]bool
	err   error
}

var flagName = regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9][a-z0-9-]*)`)

// connectorFlags returns the flags `mcp-connector run` knows, from its help.
func connectorFlags(t *testing.T) map[string]bool {
	t.Helper()
	flagsOnce.Do(func() {
		path, err := harness.BuildConnector()
		if err != nil {
			flagsOnce.err = err
			return
		}
		out, err := exec.Command(path, "run", "--help").CombinedOutput()
		if err != nil {
			flagsOnce.err = err
			return
		}
		flagsOnce.flags = map[string]bool{}
		for _, m := range flagName.FindAllStringSubmatch(string(out), -1) {
			flagsOnce.flags[m[1]] = true
		}
	})
	if flagsOnce.err != nil {
		t.Fatalf("list the flags of mcp-connector run: %v", flagsOnce.err)
	}
	if !flagsOnce.flags["control-plane-namespace"] || !flagsOnce.flags["zap-log-level"] {
		t.Fatalf("could not read the flags of mcp-connector run from its help: %v", flagsOnce.flags)
	}
	return flagsOnce.flags
}

func checkFlagsKnown(t *testing.T, d *appsv1.Deployment, known map[string]bool) {
	t.Helper()
	c := d.Spec.Template.Spec.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "run" {
		t.Fatalf("container args %v do not start with the run verb", c.Args)
	}
	for flag := range args(d) {
		if flag != "" && !known[flag] {
			t.Errorf("the chart passes --%s, which mcp-connector run does not know", flag)
		}
	}
}

// checkPodSecurity asserts the secure defaults (the install test also has
// the API server's Pod Security admission judge them).
func checkPodSecurity(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	c := pod.Containers[0].SecurityContext
	switch {
	case pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot:
		t.Error("pod does not set runAsNonRoot")
	case pod.SecurityContext.SeccompProfile == nil || pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Error("pod seccomp profile is not RuntimeDefault")
	case c == nil || c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation:
		t.Error("container allows privilege escalation")
	case c.ReadOnlyRootFilesystem == nil || !*c.ReadOnlyRootFilesystem:
		t.Error("container root file system is writable")
	case c.Capabilities == nil || len(c.Capabilities.Drop) != 1 || c.Capabilities.Drop[0] != "ALL" || len(c.Capabilities.Add) != 0:
		t.Errorf("container capabilities = %+v, want drop [ALL] and no add", c.Capabilities)
	case pod.Containers[0].Resources.Requests.Memory().IsZero() || pod.Containers[0].Resources.Limits.Memory().IsZero():
		t.Error("container has no memory request or limit")
	}
	var env *corev1.EnvVar
	for i, e := range pod.Containers[0].Env {
		if e.Name == "POD_NAMESPACE" {
			env = &pod.Containers[0].Env[i]
		}
	}
	if env == nil || env.ValueFrom == nil || env.ValueFrom.FieldRef == nil || env.ValueFrom.FieldRef.FieldPath != "metadata.namespace" {
		t.Errorf("POD_NAMESPACE = %+v, want it from the downward API (metadata.namespace)", env)
	}
	var limit *corev1.EnvVar
	for i, e := range pod.Containers[0].Env {
		if e.Name == "GOMEMLIMIT" {
			limit = &pod.Containers[0].Env[i]
		}
	}
	if limit == nil || limit.ValueFrom == nil || limit.ValueFrom.ResourceFieldRef == nil ||
		limit.ValueFrom.ResourceFieldRef.Resource != "limits.memory" || limit.ValueFrom.ResourceFieldRef.ContainerName != pod.Containers[0].Name {
		t.Errorf("GOMEMLIMIT = %+v, want it from the container's memory limit (resourceFieldRef limits.memory)", limit)
	}
}

// checkProbesAndPorts asserts that the probes hit the port the health flag
// binds, and that the metrics port and Service match the metrics flag.
func checkProbesAndPorts(t *testing.T, m *manifest, d *appsv1.Deployment) {
	t.Helper()
	c := d.Spec.Template.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	a := args(d)
	wantAddr := func(flag, port string) {
		if got := a[flag]; len(got) != 1 || got[0] != fmt.Sprintf(":%d", ports[port]) {
			t.Errorf("--%s = %v, but container port %s is %d", flag, got, port, ports[port])
		}
	}
	wantAddr("health-probe-bind-address", "healthz")
	wantAddr("metrics-bind-address", "metrics")
	for name, p := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != name || p.HTTPGet.Port.String() != "healthz" {
			t.Errorf("probe for %s = %+v, want an HTTP GET of %s on port healthz", name, p, name)
		}
	}
	if len(m.find("Service")) > 0 {
		svc := &corev1.Service{}
		m.one(t, "Service", svc)
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "metrics" {
			t.Errorf("Service %s ports = %+v, want one targeting port metrics", svc.Name, svc.Spec.Ports)
		}
	}
}

// checkLeaseRole asserts that the leader-election Role grants get and update
// on exactly the Lease the connector will use (mcp-connector-<connection
// name>, in the namespace it will use), and create without a name.
func checkLeaseRole(t *testing.T, m *manifest, d *appsv1.Deployment) {
	t.Helper()
	r := roleNamed(t, m, "-leader-election")
	if r == nil {
		return
	}
	a := args(d)
	ns := testNamespace
	if v := a["leader-election-namespace"]; len(v) == 1 {
		ns = v[0]
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{"mcp-connector-" + a["connection-name"][0]}, Verbs: []string{"get", "update"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
	}
	if r.Namespace != ns || !equalRules(r.Rules, want) {
		t.Errorf("leader-election Role in %s with rules %+v, want in %s with %+v", r.Namespace, r.Rules, ns, want)
	}
}

// checkStateRole asserts that the connector may read and update exactly its
// local record (mcp-connector-state-<connection name>) in the release
// namespace, and create ConfigMaps there; with a kubeconfig Secret, read
// and update exactly that Secret (to store a renewed token).
func checkStateRole(t *testing.T, m *manifest, d *appsv1.Deployment) {
	t.Helper()
	r := roleNamed(t, m, "-state")
	if r == nil {
		t.Fatal("no Role for the connector's local record was rendered")
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"mcp-connector-state-" + args(d)["connection-name"][0]}, Verbs: []string{"get", "update"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create"}},
	}
	if secret := args(d)["control-plane-kubeconfig-secret"]; len(secret) == 1 {
		want = append(want, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: secret, Verbs: []string{"get", "update"}})
	}
	if r.Namespace != testNamespace || !equalRules(r.Rules, want) {
		t.Errorf("local-record Role in %s with rules %+v, want in %s with %+v", r.Namespace, r.Rules, testNamespace, want)
	}
}

// roleNamed returns the Role whose name ends in suffix, or nil.
func roleNamed(t *testing.T, m *manifest, suffix string) *rbacv1.Role {
	t.Helper()
	for _, o := range m.find("Role") {
		if strings.HasSuffix(o.GetName(), suffix) {
			r := &rbacv1.Role{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, r); err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	return nil
}

func equalRules(a, b []rbacv1.PolicyRule) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].String() != b[i].String() {
			return false
		}
	}
	return true
}

func checkBindings(t *testing.T, m *manifest, d *appsv1.Deployment) {
	t.Helper()
	sa := d.Spec.Template.Spec.ServiceAccountName
	want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: testNamespace}}
	for _, kind := range []string{"ClusterRoleBinding", "RoleBinding"} {
		for _, o := range m.find(kind) {
			b := &rbacv1.RoleBinding{} // a ClusterRoleBinding has the same fields
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, b); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(b.Subjects, want) {
				t.Errorf("%s %s subjects = %+v, want %+v", kind, o.GetName(), b.Subjects, want)
			}
		}
	}
	if sas := m.find("ServiceAccount"); len(sas) != 1 || sas[0].GetName() != sa {
		t.Errorf("rendered %d ServiceAccounts, want one named %s", len(sas), sa)
	}
}

// checkPendingOrphansRole asserts that the connector may get and update the
// record of pending orphans in its own namespace, by name, and create it.
func checkPendingOrphansRole(t *testing.T, m *manifest) {
	t.Helper()
	r := roleNamed(t, m, "-pending-orphans")
	if r == nil {
		t.Fatal("no Role for the record of pending orphans was rendered")
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"mcp-connector-pending-orphans"}, Verbs: []string{"get", "update"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create"}},
	}
	if r.Namespace != testNamespace || !equalRules(r.Rules, want) {
		t.Errorf("pending-orphans Role in %s with rules %+v, want in %s with %+v", r.Namespace, r.Rules, testNamespace, want)
	}
}
