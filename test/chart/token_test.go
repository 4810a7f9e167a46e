package chart

import (
	"context"
	"fmt"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// TestConnectorTokenMode runs the connector as the chart deploys it in token
// mode (mcp.token, mcp.account, mcp.name), against a stand-in for Upbound's
// control-plane proxy: a TLS server of the test that serves the control
// plane under <baseURL>/<account>/<name>/k8s, accepts only the Upbound token
// and forwards with its own credentials. The chart's token Secret is mounted
// as the token file and its CA bundle as the CA file. It checks that the
// Connection turns Ready and names the URL the chart built, that the proxy
// served the connector with the token it expects, and that nothing was
// refused. (Whether the example API is mirrored here depends on the test
// before it, which withdraws it; this test does not look.)
func TestConnectorTokenMode(t *testing.T) {
	w := world(t)
	ns := harness.NewNamespace(t, w.App.Client)
	cpNS := harness.NewNamespace(t, w.ControlPlane.Client)
	const account, name, token = "acme", "ctp1", "upbound-api-token"
	p := harness.StartUpboundProxy(t, w.ControlPlane.Config, "/v1/controlPlanes/"+account+"/"+name+"/k8s", token)
	t.Cleanup(func() { deleteMirroredCRDs(t, w.App.Client, cpNS) }) // after the connector stops
	v := values{"mcp": map[string]any{"namespace": cpNS, "account": account, "name": name, "token": token,
		"baseURL": p.Server.URL + "/v1/controlPlanes", "caBundle": p.CAPEM}}.
		with("rbac.claimAPIGroups", []any{harness.ExampleGroup})
	replicas := installAndRun(t, w.App, "token", ns, v)

	want := p.Server.URL + "/v1/controlPlanes/acme/ctp1/k8s"
	harness.WaitForObject(t, w.App.Client, connectionGVK, client.ObjectKey{Name: cpNS}, waitTimeout, func(u *unstructured.Unstructured) error {
		if got, _, _ := unstructured.NestedString(u.Object, "spec", "controlPlane"); got != want {
			return fmt.Errorf("connection names control plane %q, want %q", got, want)
		}
		return checkConditions(u, "Ready", "ControlPlaneReachable")
	})
	if served, refused := p.Served.Load(), p.Refused.Load(); served == 0 || refused != 0 {
		t.Errorf("the proxy served %d requests and refused %d; want some served, none refused", served, refused)
	}
	for _, r := range replicas {
		r.checkLog(t)
	}
}

// deleteMirroredCRDs deletes the claim CRDs a connection mirrored, so that
// another connector of the app cluster does not find them foreign.
func deleteMirroredCRDs(t *testing.T, c client.Client, connection string) {
	t.Helper()
	crds := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := c.List(context.Background(), crds, client.MatchingLabels{"mcp-connector.io/connection": connection}); err != nil {
		t.Error(err)
		return
	}
	for i := range crds.Items {
		crd := &crds.Items[i]
		if err := c.Delete(context.Background(), crd); client.IgnoreNotFound(err) != nil {
			t.Error(err)
			continue
		}
		harness.Eventually(t, waitTimeout, func() error {
			err := c.Get(context.Background(), client.ObjectKeyFromObject(crd), &apiextensionsv1.CustomResourceDefinition{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("CRD %s still there (%v)", crd.Name, err)
		})
	}
}
