package crdmirror

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// claimCRD is shaped like the claim CRD Crossplane v1 generates.
func claimCRD(versions ...string) *apiextensionsv1.CustomResourceDefinition {
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetesclusters.k8s.starter.org", UID: "remote-uid", ResourceVersion: "42",
			Labels:          map[string]string{"crossplane.io/xrd": "x"},
			OwnerReferences: []metav1.OwnerReference{{Name: "xkubernetesclusters.k8s.starter.org"}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "crossplane"}}},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: "k8s.starter.org", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: "KubernetesCluster", Plural: "kubernetesclusters"},
			Conversion: &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.WebhookConverter,
				Webhook: &apiextensionsv1.WebhookConversion{ConversionReviewVersions: []string{"v1"}}}},
		Status: apiextensionsv1.CustomResourceDefinitionStatus{StoredVersions: versions},
	}
	for i, v := range versions {
		crd.Spec.Versions = append(crd.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{
			Name: v, Served: true, Storage: i == len(versions)-1,
			Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
				Type: "object",
				Properties: map[string]apiextensionsv1.JSONSchemaProps{
					"metadata": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"name": {Type: "string", MaxLength: ptrTo[int64](63)}}},
					"status": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"conditions": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{
							Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
								"type": {Type: "string"}, "status": {Type: "string"}}}}}}},
				}}},
		})
	}
	return crd
}

func TestMirror(t *testing.T) {
	src := Source{Connection: "conn", ControlPlane: "https://cp", XRD: "xkubernetesclusters.k8s.starter.org"}
	remote := claimCRD("v1alpha1")
	got := Mirror(remote, src, nil)

	if got.UID != "" || got.ResourceVersion != "" || got.OwnerReferences != nil || got.ManagedFields != nil {
		t.Errorf("control-plane metadata survived: %+v", got.ObjectMeta)
	}
	if got.Spec.Conversion == nil || got.Spec.Conversion.Strategy != apiextensionsv1.NoneConverter || got.Spec.Conversion.Webhook != nil {
		t.Errorf("conversion is %+v, want None", got.Spec.Conversion)
	}
	wantLabels := map[string]string{"crossplane.io/xrd": "x", conflict.LabelManaged: "true", conflict.LabelConnection: "conn"}
	if d := cmp.Diff(wantLabels, got.Labels); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	if got.Annotations[conflict.AnnotationXRD] != src.XRD || got.Annotations[conflict.AnnotationControlPlane] != src.ControlPlane {
		t.Errorf("origin annotations missing: %v", got.Annotations)
	}
	schema := got.Spec.Versions[0].Schema.OpenAPIV3Schema
	if ml := schema.Properties["metadata"].Properties["name"].MaxLength; ml != nil {
		t.Errorf("metadata.name maxLength %d kept; local names may be 253 long", *ml)
	}
	item := schema.Properties["status"].Properties["conditions"].Items.Schema
	if og, ok := item.Properties["observedGeneration"]; !ok || og.Type != "integer" {
		t.Errorf("conditions carry no observedGeneration in the mirror: %+v", item.Properties)
	}
	if len(got.Status.StoredVersions) != 0 || len(got.Status.Conditions) != 0 {
		t.Errorf("status copied: %+v", got.Status)
	}

	// The remote CRD, maybe straight from an informer's cache, is unchanged.
	if _, ok := remote.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["status"].Properties["conditions"].Items.Schema.Properties["observedGeneration"]; ok {
		t.Error("Mirror changed the remote CRD")
	}
	if remote.Spec.Conversion.Strategy != apiextensionsv1.WebhookConverter {
		t.Error("Mirror changed the remote CRD's conversion")
	}
}

func TestMirrorKeepsStoredVersions(t *testing.T) {
	local := Mirror(claimCRD("v1alpha1", "v1"), Source{}, nil)
	local.Status.StoredVersions = []string{"v1alpha1", "v1"}

	// The control plane drops v1alpha1; objects are still stored in it locally.
	got := Mirror(claimCRD("v1"), Source{}, local)
	var names []string
	for _, v := range got.Spec.Versions {
		names = append(names, v.Name)
		switch v.Name {
		case "v1":
			if !v.Served || !v.Storage {
				t.Errorf("v1 served %v storage %v, want both", v.Served, v.Storage)
			}
		case "v1alpha1":
			if v.Served || v.Storage {
				t.Errorf("the dropped version is served %v storage %v, want neither", v.Served, v.Storage)
			}
			if v.Schema == nil || v.Schema.OpenAPIV3Schema.Properties["status"].Type != "object" {
				t.Errorf("the kept version lost its local schema: %+v", v.Schema)
			}
		}
	}
	if d := cmp.Diff([]string{"v1", "v1alpha1"}, names); d != "" {
		t.Errorf("versions (-want +got):\n%s", d)
	}

	// Once nothing is stored in it, it goes.
	local.Status.StoredVersions = []string{"v1"}
	if got := Mirror(claimCRD("v1"), Source{}, local); len(got.Spec.Versions) != 1 {
		t.Errorf("a version with nothing stored was kept: %d versions", len(got.Spec.Versions))
	}
}

func TestAllowConditionGenerationKeepsExisting(t *testing.T) {
	crd := claimCRD("v1")
	item := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["status"].Properties["conditions"].Items.Schema
	item.Properties["observedGeneration"] = apiextensionsv1.JSONSchemaProps{Type: "integer", Description: "theirs"}
	got := Mirror(crd, Source{}, nil)
	og := got.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["status"].Properties["conditions"].Items.Schema.Properties["observedGeneration"]
	if og.Description != "theirs" {
		t.Errorf("an existing observedGeneration schema was replaced: %+v", og)
	}

	// Versions without a schema, or without conditions, pass through.
	bare := claimCRD("v1")
	bare.Spec.Versions[0].Schema = nil
	if got := Mirror(bare, Source{}, nil); got.Spec.Versions[0].Schema != nil {
		t.Error("a schema appeared on a version without one")
	}
}
