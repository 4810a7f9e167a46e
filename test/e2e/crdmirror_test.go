package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/crdmirror"
	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// The example claim API appears in the app cluster as the control plane
// offers it: discovery, printer columns, kubectl explain, RBAC for "edit"
// users, and a Connection that says so.
func TestClaimAPIMirrored(t *testing.T) {
	sharedConnector(t)
	ctx := context.Background()
	dc := discovery.NewDiscoveryClientForConfigOrDie(world.App.Config)
	harness.Eventually(t, waitTimeout, func() error {
		rl, err := dc.ServerResourcesForGroupVersion(harness.ExampleGroup + "/" + harness.ExampleVersion)
		if err != nil {
			return err
		}
		for _, r := range rl.APIResources {
			if r.Name == harness.ExampleClaimPlural && r.Kind == harness.ExampleClaimKind && r.Namespaced {
				return nil
			}
		}
		return fmt.Errorf("%s not in discovery: %v", harness.ExampleClaimPlural, rl.APIResources)
	})

	remote, local := &apiextensionsv1.CustomResourceDefinition{}, &apiextensionsv1.CustomResourceDefinition{}
	key := client.ObjectKey{Name: harness.ExampleClaimCRDName}
	if err := world.ControlPlane.Client.Get(ctx, key, remote); err != nil {
		t.Fatal(err)
	}
	if err := world.App.Client.Get(ctx, key, local); err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(remote.Spec.Versions[0].AdditionalPrinterColumns, local.Spec.Versions[0].AdditionalPrinterColumns) {
		t.Errorf("printer columns differ:\ncontrol plane %v\napp cluster   %v", remote.Spec.Versions[0].AdditionalPrinterColumns, local.Spec.Versions[0].AdditionalPrinterColumns)
	}
	if !equality.Semantic.DeepEqual(remote.Spec.Names, local.Spec.Names) || remote.Spec.Scope != local.Spec.Scope {
		t.Errorf("names or scope differ: %v %s vs %v %s", remote.Spec.Names, remote.Spec.Scope, local.Spec.Names, local.Spec.Scope)
	}
	if local.Labels[conflict.LabelConnection] != sharedNamespace || local.Annotations[conflict.AnnotationXRD] == "" || len(local.OwnerReferences) != 0 {
		t.Errorf("mirrored CRD is not marked as ours, or kept control-plane owners: labels %v annotations %v owners %v", local.Labels, local.Annotations, local.OwnerReferences)
	}

	// The API server publishes a new CRD's OpenAPI a moment after it is established.
	harness.Eventually(t, waitTimeout, func() error {
		out, err := exec.Command("kubectl", "--kubeconfig", world.App.Kubeconfig, "explain", harness.ExampleClaimPlural+".spec.nodes").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Number of worker nodes") {
			return fmt.Errorf("kubectl explain on the mirror: %v\n%s", err, out)
		}
		return nil
	})

	waitConnection(t, func(status map[string]any) error {
		return apiState(status, harness.ExampleClaimCRDName, connection.StateMirrored)
	})
	checkEditUserCanCreateClaims(t)
}

// checkEditUserCanCreateClaims impersonates a user who holds only the
// built-in "edit" role in one namespace.
func checkEditUserCanCreateClaims(t *testing.T) {
	ctx := context.Background()
	ns := harness.NewNamespace(t, world.App.Client)
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-edit"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "edit"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice", APIGroup: "rbac.authorization.k8s.io"}}}
	create(t, world.App.Client, rb)
	cfg := rest.CopyConfig(world.App.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "alice"}
	alice, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, waitTimeout, func() error {
		claim := harness.NewExampleClaim(ns, "alices", 1)
		err := alice.Create(ctx, claim)
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
}

func getConnection(ctx context.Context) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(connection.GVK)
	return u, world.App.Client.Get(ctx, client.ObjectKey{Name: sharedNamespace}, u)
}

// waitConnection waits until the shared connector's Connection status passes check.
func waitConnection(t *testing.T, check func(status map[string]any) error) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		u, err := getConnection(context.Background())
		if err != nil {
			return err
		}
		status, _, _ := unstructured.NestedMap(u.Object, "status")
		return check(status)
	})
}

func apiState(status map[string]any, crd, want string) error {
	apis, _, _ := unstructured.NestedSlice(status, "apis")
	for _, raw := range apis {
		a, _ := raw.(map[string]any)
		if a["name"] == crd {
			if a["state"] != want {
				return fmt.Errorf("API %s is %v (%v), want %s", crd, a["state"], a["message"], want)
			}
			return nil
		}
	}
	return fmt.Errorf("API %s not in the Connection status: %v", crd, apis)
}

// newXRD is a minimal XRD of its own group, so that tests that change or
// delete it do not disturb the others.
func newXRD(group string, versions ...map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"group":      group,
			"names":      map[string]any{"kind": "XWidget", "plural": "xwidgets"},
			"claimNames": map[string]any{"kind": "Widget", "plural": "widgets"},
			"versions":   toAnySlice(versions),
		},
	}}
	u.SetGroupVersionKind(crdmirror.XRDGVK)
	u.SetName("xwidgets." + group)
	return u
}

func toAnySlice(in []map[string]any) []any {
	out := make([]any, len(in))
	for i := range in {
		out[i] = in[i]
	}
	return out
}

func xrdVersion(name string, referenceable bool, props map[string]any, columns ...map[string]any) map[string]any {
	v := map[string]any{
		"name": name, "served": true, "referenceable": referenceable,
		"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "properties": map[string]any{
			"spec": map[string]any{"type": "object", "properties": props}}}},
	}
	if len(columns) > 0 {
		v["additionalPrinterColumns"] = toAnySlice(columns)
	}
	return v
}

func deleteXRDOnCleanup(t *testing.T, xrd *unstructured.Unstructured) {
	t.Cleanup(func() { _ = world.ControlPlane.Client.Delete(context.Background(), xrd) })
}

func localCRD(t *testing.T, name string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := world.App.Client.Get(context.Background(), client.ObjectKey{Name: name}, crd); err != nil {
		t.Fatal(err)
	}
	return crd
}

// widgetAPI offers the Widget claim API of group in the control plane (an XRD
// with a v1alpha1 version of one string field, removed at cleanup) and waits
// until it is mirrored.
func widgetAPI(t *testing.T, group string) *unstructured.Unstructured {
	t.Helper()
	xrd := newXRD(group, xrdVersion("v1alpha1", true, map[string]any{"size": map[string]any{"type": "string"}}))
	create(t, world.ControlPlane.Client, xrd)
	deleteXRDOnCleanup(t, xrd)
	waitMirrored(t, "widgets."+group)
	return xrd
}

// newWidget creates the Widget w1 in a namespace of its own.
func newWidget(t *testing.T, group string) *unstructured.Unstructured {
	t.Helper()
	w := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"size": "s"}}}
	w.SetAPIVersion(group + "/v1alpha1")
	w.SetKind("Widget")
	w.SetNamespace(harness.NewNamespace(t, world.App.Client))
	w.SetName("w1")
	create(t, world.App.Client, w)
	return w
}

// A changed schema, a new printer column and a new version reach the app
// cluster; the old version keeps the objects stored in it.
func TestSchemaChangesPropagate(t *testing.T) {
	sharedConnector(t)
	ctx := context.Background()
	group := "schema.e2e.starter.org"
	crdName := "widgets." + group
	xrd := widgetAPI(t, group)

	w := newWidget(t, group)
	t.Cleanup(func() { _ = world.App.Client.Delete(context.Background(), w) })

	// New field and printer column.
	if err := world.ControlPlane.Client.Get(ctx, client.ObjectKeyFromObject(xrd), xrd); err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedSlice(xrd.Object, toAnySlice([]map[string]any{
		xrdVersion("v1alpha1", false, map[string]any{"size": map[string]any{"type": "string"}}),
		xrdVersion("v1beta1", true, map[string]any{"size": map[string]any{"type": "string"}, "color": map[string]any{"type": "string", "description": "Paint."}},
			map[string]any{"name": "COLOR", "type": "string", "jsonPath": ".spec.color"}),
	}), "spec", "versions")
	if err := world.ControlPlane.Client.Update(ctx, xrd); err != nil {
		t.Fatalf("update XRD: %v", err)
	}
	harness.Eventually(t, waitTimeout, func() error {
		crd := localCRD(t, crdName)
		if len(crd.Spec.Versions) != 2 || crdmirror.StorageVersion(crd) != "v1beta1" {
			return fmt.Errorf("local CRD versions %d, storage %s", len(crd.Spec.Versions), crdmirror.StorageVersion(crd))
		}
		for _, v := range crd.Spec.Versions {
			if v.Name != "v1beta1" {
				continue
			}
			if _, ok := v.Schema.OpenAPIV3Schema.Properties["spec"].Properties["color"]; !ok {
				return fmt.Errorf("v1beta1 lacks spec.color")
			}
			for _, c := range v.AdditionalPrinterColumns {
				if c.Name == "COLOR" {
					return nil
				}
			}
			return fmt.Errorf("v1beta1 lacks the COLOR column")
		}
		return fmt.Errorf("no v1beta1")
	})
	// The object stored as v1alpha1 is still there and readable.
	got := w.DeepCopy()
	if err := world.App.Client.Get(ctx, client.ObjectKeyFromObject(w), got); err != nil {
		t.Errorf("the claim stored in the old version is unreadable: %v", err)
	}
}

// A CRD of the same name that the connector does not own is left untouched
// and reported in the Connection.
func TestForeignCRDUntouched(t *testing.T) {
	sharedConnector(t)
	group := "foreign.e2e.starter.org"
	crdName := "widgets." + group
	foreign := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: crdName, Labels: map[string]string{"owner": "another-tool"}},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: group, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: "Widget", ListKind: "WidgetList", Plural: "widgets", Singular: "widget"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr(true)}}}}},
	}
	create(t, world.App.Client, foreign)
	t.Cleanup(func() { _ = world.App.Client.Delete(context.Background(), foreign) })
	// The API server writes the CRD's status (Established) on its own: take
	// the resourceVersion to compare with after that.
	waitMirrored(t, crdName)
	before := localCRD(t, crdName)

	xrd := newXRD(group, xrdVersion("v1alpha1", true, map[string]any{"size": map[string]any{"type": "string"}}))
	create(t, world.ControlPlane.Client, xrd)
	deleteXRDOnCleanup(t, xrd)
	waitConnection(t, func(status map[string]any) error { return apiState(status, crdName, connection.StateRefused) })
	after := localCRD(t, crdName)
	if after.ResourceVersion != before.ResourceVersion || after.Labels[conflict.LabelManaged] != "" {
		t.Errorf("the foreign CRD was written: resourceVersion %s -> %s, labels %v", before.ResourceVersion, after.ResourceVersion, after.Labels)
	}
}

func ptr[T any](v T) *T { return &v }

// Deleting the XRD while local claims of its kind exist keeps the mirrored
// CRD (and so the claims) and reports it; once they are gone, the CRD goes.
func TestWithdrawnAPIKeepsCRDWhileClaimsRemain(t *testing.T) {
	sharedConnector(t)
	ctx := context.Background()
	group := "withdraw.e2e.starter.org"
	crdName := "widgets." + group
	xrd := widgetAPI(t, group)
	waitConnection(t, func(status map[string]any) error { return apiState(status, crdName, connection.StateMirrored) })

	w := newWidget(t, group)
	waitLocal(t, w, func(u *unstructured.Unstructured) error {
		if !controllerutilContains(u.GetFinalizers(), conflict.Finalizer) {
			return fmt.Errorf("no finalizer yet")
		}
		return nil
	})

	if err := world.ControlPlane.Client.Delete(ctx, xrd); err != nil {
		t.Fatal(err)
	}
	waitConnection(t, func(status map[string]any) error { return apiState(status, crdName, connection.StateWithdrawn) })
	localCRD(t, crdName) // still there
	if err := world.App.Client.Get(ctx, client.ObjectKeyFromObject(w), w); err != nil {
		t.Fatalf("the local claim of a withdrawn API was lost: %v", err)
	}

	if err := world.App.Client.Delete(ctx, w); err != nil {
		t.Fatal(err)
	}
	waitLocalGone(t, w)
	harness.Eventually(t, waitTimeout, func() error {
		err := world.App.Client.Get(ctx, client.ObjectKey{Name: crdName}, &apiextensionsv1.CustomResourceDefinition{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("withdrawn CRD %s still there (%v)", crdName, err)
	})
}

// The Connection counts the local claims by their ControlPlaneSynced state,
// so that `kubectl get connection` answers "are my claims in sync?". The
// counts follow a claim's change (the reporter's periodic pass is 5 minutes
// apart, far beyond this test's deadline): without the syncer's
// OnClaimChange hook the Connection stays at "0 in sync" here.
func TestConnectionCountsClaims(t *testing.T) {
	sharedConnector(t)
	ns := harness.NewNamespace(t, world.App.Client)
	local := harness.NewExampleClaim(ns, "counted", 1)
	create(t, world.App.Client, local)
	waitLocal(t, local, readyAndSynced)
	waitConnection(t, func(status map[string]any) error {
		n, _, _ := unstructured.NestedInt64(status, "claims", "inSync")
		if n < 1 {
			return fmt.Errorf("the Connection counts %d claims in sync (%v)", n, status["claimsSummary"])
		}
		if s, _ := status["claimsSummary"].(string); !strings.Contains(s, "in sync") {
			return fmt.Errorf("claimsSummary is %q", s)
		}
		return nil
	})
}
