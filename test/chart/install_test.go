package chart

import (
	"context"
	"fmt"
	"slices"
	"strings"
	gosync "sync"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// TestInstall creates every object the chart renders, for each valid set of
// values, in a real kube-apiserver: in a fresh namespace that enforces the
// restricted Pod Security Standard, with a pod made from the Deployment's
// template (the namespace's admission rejects a pod that breaks the standard,
// and the Deployment must draw no warning either). Where the claim rule is
// narrowed, it also asks the API server's authorizer what the ServiceAccount
// may do: the Lease by name only, nothing beyond the chart's rules.
func TestInstall(t *testing.T) {
	w := world(t)
	for i, c := range validCases() {
		t.Run(c.name, func(t *testing.T) {
			ns := restrictedNamespace(t, w.App.Client)
			v := c.values
			if leaseNS, _, _ := unstructured.NestedString(v, "leaderElection", "namespace"); leaseNS != "" {
				v = v.with("leaderElection.namespace", harness.NewNamespace(t, w.App.Client))
			}
			m := mustRender(t, fmt.Sprintf("install%d", i), ns, v)
			warnings := createAll(t, w.App.Config, m)
			if len(warnings) > 0 {
				t.Errorf("the API server warned about the rendered objects:\n%s", strings.Join(warnings, "\n"))
			}
			createPodFromTemplate(t, w.App.Client, m.deployment(t).Spec.Template, ns)
			if groups := claimGroups(t, m); !slices.Contains(groups, "*") {
				checkAccess(t, w.App.Client, m, ns)
			}
		})
	}
}

// restrictedNamespace creates a fresh namespace that enforces, and warns
// about, the restricted Pod Security Standard.
func restrictedNamespace(t *testing.T, c client.Client) string {
	t.Helper()
	name := harness.NewNamespace(t, c)
	ns := &corev1.Namespace{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: name}, ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	ns.Labels["pod-security.kubernetes.io/warn"] = "restricted"
	ns.Labels["pod-security.kubernetes.io/enforce-version"] = "latest"
	if err := c.Update(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return name
}

// warningCollector keeps the warnings the API server sends.
type warningCollector struct {
	mu       gosync.Mutex
	warnings []string
}

func (w *warningCollector) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.warnings = append(w.warnings, text)
}

// createAll creates every rendered object as the admin, deleting the
// cluster-scoped ones when the test ends (the namespaced ones go with their
// namespace), and returns the API server's warnings.
func createAll(t *testing.T, admin *rest.Config, m *manifest) []string {
	t.Helper()
	cfg := rest.CopyConfig(admin)
	collector := &warningCollector{}
	cfg.WarningHandler = collector
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range m.Objects {
		obj := o.DeepCopy()
		if err := c.Create(context.Background(), obj); err != nil {
			t.Fatalf("create %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
		if obj.GetNamespace() == "" {
			t.Cleanup(func() {
				if err := c.Delete(context.Background(), obj); client.IgnoreNotFound(err) != nil {
					t.Errorf("delete %s %s: %v", obj.GetKind(), obj.GetName(), err)
				}
			})
		}
	}
	return collector.warnings
}

// createPodFromTemplate creates a pod the way the Deployment's ReplicaSet
// would, so that Pod Security admission judges it (nothing runs it: the test
// cluster has no scheduler and no nodes).
func createPodFromTemplate(t *testing.T, c client.Client, tmpl corev1.PodTemplateSpec, ns string) {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "from-template", Labels: tmpl.Labels, Annotations: tmpl.Annotations}, Spec: tmpl.Spec}
	if err := c.Create(context.Background(), pod); err != nil {
		t.Fatalf("create a pod from the Deployment's template in a namespace enforcing the restricted Pod Security Standard: %v", err)
	}
}

// checkAccess asks the authorizer what the chart's ServiceAccount may do.
func checkAccess(t *testing.T, c client.Client, m *manifest, ns string) {
	t.Helper()
	d := m.deployment(t)
	a := args(d)
	leaseNS := ns
	if v := a["leader-election-namespace"]; len(v) == 1 {
		leaseNS = v[0]
	}
	lease := "mcp-connector-" + a["connection-name"][0]
	user := "system:serviceaccount:" + ns + ":" + d.Spec.Template.Spec.ServiceAccountName
	cases := []struct {
		attr authorizationv1.ResourceAttributes
		want bool
	}{
		{authorizationv1.ResourceAttributes{Namespace: leaseNS, Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Name: lease}, true},
		{authorizationv1.ResourceAttributes{Namespace: leaseNS, Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Name: "someone-else"}, false},
		{authorizationv1.ResourceAttributes{Namespace: leaseNS, Verb: "create", Group: "coordination.k8s.io", Resource: "leases"}, true},
		{authorizationv1.ResourceAttributes{Namespace: "other", Verb: "get", Group: "coordination.k8s.io", Resource: "leases", Name: lease}, false},
		{authorizationv1.ResourceAttributes{Verb: "get", Resource: "namespaces", Name: "kube-public"}, false},
		{authorizationv1.ResourceAttributes{Namespace: "any", Verb: "get", Resource: "configmaps"}, false},
		{authorizationv1.ResourceAttributes{Namespace: ns, Verb: "update", Resource: "configmaps", Name: "mcp-connector-state-" + a["connection-name"][0]}, true},
		{authorizationv1.ResourceAttributes{Namespace: ns, Verb: "update", Resource: "configmaps", Name: "someone-else"}, false},
		{authorizationv1.ResourceAttributes{Namespace: "any", Verb: "create", Resource: "pods"}, false},
		{authorizationv1.ResourceAttributes{Verb: "escalate", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}, false},
		{authorizationv1.ResourceAttributes{Verb: "update", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}, false},
		{authorizationv1.ResourceAttributes{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}, false},
		{authorizationv1.ResourceAttributes{Namespace: "any", Verb: "patch", Group: "k8s.starter.org", Resource: "kubernetesclusters", Subresource: "status"}, true},
		{authorizationv1.ResourceAttributes{Namespace: "any", Verb: "patch", Group: "other.example.org", Resource: "things", Subresource: "status"}, false},
	}
	for _, c2 := range cases {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
			ResourceAttributes: &c2.attr}}
		if err := c.Create(context.Background(), sar); err != nil {
			t.Fatal(err)
		}
		if sar.Status.Allowed != c2.want {
			t.Errorf("%s may %s %+v: allowed=%t, want %t (%s)", user, c2.attr.Verb, c2.attr, sar.Status.Allowed, c2.want, sar.Status.Reason)
		}
	}
}

// TestHelmInstall installs the chart with helm itself into the app cluster
// (token mode, so that helm also creates the token Secret), checks that the
// release notes tell how to look at the Connection, and that uninstalling
// removes the cluster-scoped objects again.
func TestHelmInstall(t *testing.T) {
	w := world(t)
	ns := restrictedNamespace(t, w.App.Client)
	v := tokenBase().with("connectionName", "notes-check")
	kc := "--kubeconfig=" + w.App.Kubeconfig
	out, err := helm(t, "install", "notes", chartDir(t), kc, "--namespace", ns, "--values", valuesFile(t, v))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kubectl get connection notes-check", "kubectl describe connection notes-check",
		"acme/ctp1 (https://proxy.upbound.io/v1/controlPlanes/acme/ctp1/k8s)", `rbac.claimAPIGroups is "*"`} {
		if !strings.Contains(out, want) {
			t.Errorf("helm install output lacks %q:\n%s", want, out)
		}
	}
	key := client.ObjectKey{Name: "notes-mcp-connector"}
	if err := w.App.Client.Get(context.Background(), key, &rbacv1.ClusterRole{}); err != nil {
		t.Fatalf("ClusterRole after helm install: %v", err)
	}
	if out, err := helm(t, "uninstall", "notes", kc, "--namespace", ns, "--wait"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if err := w.App.Client.Get(context.Background(), key, &rbacv1.ClusterRole{}); !apierrors.IsNotFound(err) {
		t.Errorf("ClusterRole after helm uninstall: %v, want NotFound", err)
	}
}
