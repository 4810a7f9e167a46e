package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// A connector started with --xrd-selector mirrors only the APIs of matching
// XRDs: the example claim API and an unlabelled XRD stay out of its app
// cluster, claims of the selected API sync as always. An XRD that stops
// matching is withdrawn as one deleted (its CRD kept while a claim remains,
// the remote claim untouched); matching again brings the API back.
func TestXRDSelectorPicksAPIs(t *testing.T) {
	ctx := context.Background()
	const offerLabel = "e2e.mcp-connector.io/offer"
	r := newFaultRig(t)
	offered, other := "sel-"+r.clusterID+".e2e.starter.org", "unsel-"+r.clusterID+".e2e.starter.org"
	r.cfg.ExtraArgs = append(r.cfg.ExtraArgs, "--xrd-selector="+offerLabel+"="+r.namespace)
	props := map[string]any{"size": map[string]any{"type": "string"}}
	for group, labelled := range map[string]bool{offered: true, other: false} {
		xrd := newXRD(group, xrdVersion("v1alpha1", true, props))
		if labelled {
			xrd.SetLabels(map[string]string{offerLabel: r.namespace})
		}
		create(t, world.ControlPlane.Client, xrd)
		deleteXRDOnCleanup(t, xrd)
	}
	r.start(t)

	crdName := "widgets." + offered
	harness.Eventually(t, waitTimeout, func() error { return harness.CRDEstablished(ctx, r.app.Client, crdName) })
	w := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"size": "s"}}}
	w.SetAPIVersion(offered + "/v1alpha1")
	w.SetKind("Widget")
	w.SetNamespace(r.claims)
	w.SetName("w1")
	harness.Eventually(t, waitTimeout, func() error { return client.IgnoreAlreadyExists(r.app.Client.Create(ctx, w.DeepCopy())) })
	harness.WaitForObject(t, r.app.Client, w.GroupVersionKind(), client.ObjectKeyFromObject(w), waitTimeout,
		conditionReason(condition.Type, condition.ReasonSynced))
	remote := &unstructured.Unstructured{}
	remote.SetGroupVersionKind(w.GroupVersionKind())
	remoteKey := client.ObjectKey{Namespace: r.namespace, Name: sync.RemoteName(r.clusterID, r.claims, "w1")}
	if err := world.ControlPlane.Client.Get(ctx, remoteKey, remote); err != nil {
		t.Fatalf("the claim of the selected API is not in the control plane: %v", err)
	}
	// By now every XRD was reconciled once (the mirror lists them all at start).
	for _, name := range []string{harness.ExampleClaimCRDName, "widgets." + other} {
		err := r.app.Client.Get(ctx, client.ObjectKey{Name: name}, &apiextensionsv1.CustomResourceDefinition{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("CRD %s of an XRD that does not match --xrd-selector is in the app cluster (get: %v)", name, err)
		}
	}

	setOfferLabel(t, "xwidgets."+offered, offerLabel, "")
	r.waitAPI(t, crdName, connection.StateWithdrawn, "--xrd-selector")
	if err := r.app.Client.Get(ctx, client.ObjectKey{Name: crdName}, &apiextensionsv1.CustomResourceDefinition{}); err != nil {
		t.Errorf("the CRD of an unselected API went while a local claim remains: %v", err)
	}
	if err := world.ControlPlane.Client.Get(ctx, remoteKey, &unstructured.Unstructured{Object: remote.Object}); err != nil {
		t.Errorf("the remote claim of an unselected API was touched: %v", err)
	}

	setOfferLabel(t, "xwidgets."+offered, offerLabel, r.namespace)
	r.waitAPI(t, crdName, connection.StateMirrored, "")
	harness.WaitForObject(t, r.app.Client, w.GroupVersionKind(), client.ObjectKeyFromObject(w), waitTimeout,
		conditionReason(condition.Type, condition.ReasonSynced))
}

// setOfferLabel sets (value "" removes) a label on an XRD.
func setOfferLabel(t *testing.T, xrd, key, value string) {
	t.Helper()
	v := "null"
	if value != "" {
		v = fmt.Sprintf("%q", value)
	}
	u := newXRD("x")
	u.SetName(xrd)
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%s}}}`, key, v)
	if err := world.ControlPlane.Client.Patch(context.Background(), u, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatalf("label XRD %s: %v", xrd, err)
	}
}

// waitAPI waits until the rig's Connection lists the API in state, with a
// message that contains msg.
func (r *faultRig) waitAPI(t *testing.T, crd, state, msg string) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		status, err := r.connectionStatus()
		if err != nil {
			return err
		}
		if err := apiState(status, crd, state); err != nil {
			return err
		}
		apis, _, _ := unstructured.NestedSlice(status, "apis")
		for _, raw := range apis {
			if a, _ := raw.(map[string]any); a["name"] == crd {
				if m, _ := a["message"].(string); !strings.Contains(m, msg) {
					return fmt.Errorf("API %s: message %q does not say %q", crd, m, msg)
				}
			}
		}
		return nil
	})
}
