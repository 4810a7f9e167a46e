package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/mcp-connector/mcp-connector/cmd/argocd"
	"github.com/mcp-connector/mcp-connector/cmd/argocd/luahealth"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// argoCDVersion is the argo-cd release whose Crossplane health check the
// tests run; keep it in step with ARGOCD_VERSION in the Makefile.
const argoCDVersion = "v3.5.7"

// argoCDCrossplaneScript reads Argo CD's own health check for *.crossplane.io
// (resource_customizations/_.crossplane.io/_/health.lua of the argo-cd
// module): $MCP_ARGOCD_HEALTH (`make tools` downloads it into ./bin), else the
// Go module cache (`go mod download github.com/argoproj/argo-cd/v3@<version>`).
func argoCDCrossplaneScript(t *testing.T) string {
	t.Helper()
	p := os.Getenv("MCP_ARGOCD_HEALTH")
	if p == "" {
		out, err := exec.Command("go", "env", "GOMODCACHE").Output()
		if err != nil {
			t.Fatalf("go env GOMODCACHE: %v", err)
		}
		p = filepath.Join(strings.TrimSpace(string(out)), "github.com/argoproj/argo-cd/v3@"+argoCDVersion,
			"resource_customizations/_.crossplane.io/_/health.lua")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read Argo CD's Crossplane health check: %v (run `make tools`, or `go mod download github.com/argoproj/argo-cd/v3@%s`)", err, argoCDVersion)
	}
	return string(b)
}

// runCLI runs the connector's binary against the app cluster and returns its
// output; a failure fails the test.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	path, err := harness.BuildConnector()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, append(args, "--kubeconfig="+world.App.Kubeconfig)...).CombinedOutput()
	if err != nil {
		t.Fatalf("mcp-connector %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// printedEntries runs `mcp-connector argocd` and returns the data of the
// ConfigMap it prints.
func printedEntries(t *testing.T) map[string]string {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if err := yaml.Unmarshal([]byte(runCLI(t, "argocd")), cm); err != nil {
		t.Fatalf("the printed argocd-cm is not a ConfigMap: %v", err)
	}
	return cm.Data
}

// health evaluates script on the current local copy of u.
func health(t *testing.T, script string, u *unstructured.Unstructured) luahealth.Health {
	t.Helper()
	got := u.DeepCopy()
	if err := world.App.Client.Get(context.Background(), client.ObjectKeyFromObject(u), got); err != nil {
		t.Fatal(err)
	}
	h, err := luahealth.Evaluate(script, got.Object)
	if err != nil {
		t.Fatalf("evaluate the health script on %s: %v", u.GetName(), err)
	}
	return h
}

// Argo CD's own Crossplane health check and the connector's argocd-cm entry,
// run with gopher-lua as Argo CD runs them, on real local copies: Progressing
// while Crossplane works, Healthy when Ready, Degraded when Synced is False;
// and Degraded when the connector refused the claim, which only the
// connector's check can see. Composite resources are one more case of the
// same table (the evaluator takes any object).
func TestArgoCDHealth(t *testing.T) {
	sharedConnector(t)
	group := "argocd.e2e.starter.org"
	widgetAPI(t, group) // an XRD with no Composition: its claims wait for ever
	ns := harness.NewNamespace(t, world.App.Client)

	waiting := newWidget(t, group)
	healthy := harness.NewExampleClaim(ns, "healthy", 1)
	create(t, world.App.Client, healthy)
	// Crossplane cannot propagate the connection details of this one: a
	// Secret it does not control holds the name (Synced False).
	degraded := harness.NewExampleClaim(ns, "degraded", 1)
	gk := degraded.GroupVersionKind()
	blocker := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: sharedNamespace,
		Name: sync.RemoteSecretName(sharedClusterID, gk.Group, gk.Kind, ns, "degraded")}}
	create(t, world.ControlPlane.Client, blocker)
	t.Cleanup(func() { _ = world.ControlPlane.Client.Delete(context.Background(), blocker) })
	create(t, world.App.Client, degraded)
	// The remote name is taken by a claim the connector did not create.
	refused := harness.NewExampleClaim(ns, "refused", 1)
	foreign := harness.NewExampleClaim(sharedNamespace, sync.RemoteName(sharedClusterID, ns, "refused"), 1)
	unstructured.RemoveNestedField(foreign.Object, "spec", "writeConnectionSecretToRef")
	create(t, world.ControlPlane.Client, foreign)
	t.Cleanup(func() { _ = world.ControlPlane.Client.Delete(context.Background(), foreign) })
	create(t, world.App.Client, refused)
	for _, u := range []*unstructured.Unstructured{healthy, degraded, refused} {
		t.Cleanup(func() { _ = world.App.Client.Delete(context.Background(), u) })
	}

	waitLocal(t, waiting, all(conditionIs("Synced", "True"), conditionIs("Ready", "False")))
	waitLocal(t, healthy, readyAndSynced)
	waitLocal(t, degraded, conditionIs("Synced", "False"))
	waitLocal(t, refused, conditionReason(condition.Type, condition.ReasonForeignObject))

	entries := printedEntries(t)
	ours := map[string]string{}
	for _, u := range []*unstructured.Unstructured{waiting, healthy} {
		key := argocd.HealthKeyPrefix + u.GroupVersionKind().Group + "_" + u.GetKind()
		if ours[u.GetKind()] = entries[key]; ours[u.GetKind()] == "" {
			t.Fatalf("`mcp-connector argocd` prints no %s (keys %v)", key, argocd.Keys(entries))
		}
	}
	argo := argoCDCrossplaneScript(t)
	cases := map[string]struct {
		obj        *unstructured.Unstructured
		argo, ours string
	}{
		"CrossplaneWorks": {obj: waiting, argo: luahealth.Progressing, ours: luahealth.Progressing},
		"Ready":           {obj: healthy, argo: luahealth.Healthy, ours: luahealth.Healthy},
		"SyncedFalse":     {obj: degraded, argo: luahealth.Degraded, ours: luahealth.Degraded},
		"Refused":         {obj: refused, argo: luahealth.Progressing, ours: luahealth.Degraded},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if h := health(t, argo, tc.obj); h.Status != tc.argo {
				t.Errorf("Argo CD's Crossplane check says %s (%s), want %s", h.Status, h.Message, tc.argo)
			}
			if h := health(t, ours[tc.obj.GetKind()], tc.obj); h.Status != tc.ours {
				t.Errorf("the connector's argocd-cm check says %s (%s), want %s", h.Status, h.Message, tc.ours)
			}
		})
	}
}

// `mcp-connector argocd --apply` merges its entries into an existing argocd-cm
// and keeps every other key; run again it changes nothing; with no argocd-cm
// it creates one that Argo CD reads (labelled part-of argocd).
func TestArgoCDApply(t *testing.T) {
	sharedConnector(t)
	ctx := context.Background()
	ns := harness.NewNamespace(t, world.App.Client)
	others := map[string]string{
		"url": "https://argocd.example.org",
		"resource.customizations.health.other.example.org_Thing": "return {status = \"Healthy\"}",
	}
	existing := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: argocd.ConfigMapName,
		Labels: map[string]string{argocd.PartOfLabel: "argocd", "team": "platform"}}, Data: others}
	create(t, world.App.Client, existing)

	want := printedEntries(t)
	for range 2 {
		out := runCLI(t, "argocd", "--apply", "--namespace", ns)
		if !strings.Contains(out, "other keys are unchanged") {
			t.Errorf("--apply says: %s", out)
		}
		cm, err := argocd.Get(ctx, world.App.Client, ns)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range others {
			if cm.Data[k] != v {
				t.Errorf("key %s of argocd-cm changed: %q", k, cm.Data[k])
			}
		}
		for k, v := range want {
			if cm.Data[k] != v {
				t.Errorf("key %s of argocd-cm is %q, want what `mcp-connector argocd` prints", k, cm.Data[k])
			}
		}
		if cm.Labels["team"] != "platform" {
			t.Errorf("argocd-cm's labels changed: %v", cm.Labels)
		}
	}

	fresh := harness.NewNamespace(t, world.App.Client)
	runCLI(t, "argocd", "--apply", "-n", fresh)
	cm, err := argocd.Get(ctx, world.App.Client, fresh)
	if err != nil {
		t.Fatalf("--apply created no argocd-cm: %v", err)
	}
	if cm.Labels[argocd.PartOfLabel] != "argocd" || len(cm.Data) != len(want) {
		t.Errorf("the created argocd-cm has labels %v and %d keys, want part-of argocd and %d keys", cm.Labels, len(cm.Data), len(want))
	}

	// A key of ours that someone else set to another value is theirs: --apply
	// says so and changes nothing.
	key := argocd.Keys(want)[0]
	patch := fmt.Sprintf(`{"data":{%q:"return {status = \"Healthy\"}"}}`, key)
	if err := world.App.Client.Patch(ctx, cm, client.RawPatch(types.MergePatchType, []byte(patch)), client.FieldOwner("someone-else")); err != nil {
		t.Fatal(err)
	}
	path, err := harness.BuildConnector()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "argocd", "--apply", "-n", fresh, "--kubeconfig="+world.App.Kubeconfig).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "conflict") || !strings.Contains(string(out), "someone-else") {
		t.Errorf("--apply over a key someone else set: err %v, output %s; want a conflict naming the other writer", err, out)
	}
	if got, _ := argocd.Get(ctx, world.App.Client, fresh); got.Data[key] == want[key] {
		t.Errorf("--apply took over key %s from its other writer", key)
	}
}
