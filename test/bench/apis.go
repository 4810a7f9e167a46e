package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mcp-connector/mcp-connector/crdmirror"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// benchGroup is the API group of the bench's claim kinds.
const (
	benchGroup   = "bench.example.org"
	benchVersion = "v1alpha1"
)

// kind is one claim kind the control plane offers.
type kind struct {
	Kind, Plural string
}

// kinds are the three claim kinds of every benchmark but the scale part,
// which makes its own with makeKinds.
var kinds = []kind{{"Database", "databases"}, {"Bucket", "buckets"}, {"Queue", "queues"}}

// makeKinds returns n claim kinds: the three of kinds first, then Kind0003,
// Kind0004 and so on.
func makeKinds(n int) []kind {
	out := make([]kind, 0, n)
	for i := range n {
		if i < len(kinds) {
			out = append(out, kinds[i])
			continue
		}
		out = append(out, kind{Kind: fmt.Sprintf("Kind%04d", i), Plural: fmt.Sprintf("kind%04ds", i)})
	}
	return out
}

func (k kind) GVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: benchGroup, Version: benchVersion, Kind: k.Kind}
}

func (k kind) GVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: benchGroup, Version: benchVersion, Resource: k.Plural}
}

func (k kind) CRDName() string { return k.Plural + "." + benchGroup }

func (k kind) XRDName() string { return "x" + k.Plural + "." + benchGroup }

// xrdCRDFile is the Crossplane XRD CRD of the pinned Crossplane module.
func xrdCRDFile() (string, error) {
	dir, err := harness.ModuleDir("crossplane", "github.com/crossplane/crossplane")
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "cluster", "crds", "apiextensions.crossplane.io_compositeresourcedefinitions.yaml"), nil
}

// newXRD is a v1 XRD offering the claim kind k.
func newXRD(k kind) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"group":                benchGroup,
			"names":                map[string]any{"kind": "X" + k.Kind, "plural": "x" + k.Plural},
			"claimNames":           map[string]any{"kind": k.Kind, "plural": k.Plural},
			"connectionSecretKeys": []any{"endpoint", "password"},
			"versions": []any{map[string]any{
				"name": benchVersion, "served": true, "referenceable": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object",
					"properties": map[string]any{
						"spec":   map[string]any{"type": "object", "properties": userSpecProps()},
						"status": map[string]any{"type": "object", "properties": map[string]any{"endpoint": map[string]any{"type": "string"}}},
					},
				}},
			}},
		},
	}}
	u.SetGroupVersionKind(crdmirror.XRDGVK)
	u.SetName(k.XRDName())
	return u
}

func userSpecProps() map[string]any {
	return map[string]any{
		"size":     map[string]any{"type": "string"},
		"replicas": map[string]any{"type": "integer"},
	}
}

// newClaimCRD is the claim CRD as Crossplane v1.20 generates it from newXRD
// (internal/xcrd ForCompositeResourceClaim): the XRD's schema plus the
// claim's spec fields (composition selection, resourceRef,
// publishConnectionDetailsTo, writeConnectionSecretToRef) and status
// (conditions, connectionDetails, claimConditionTypes), metadata.name capped
// at 63, the status subresource, Crossplane's printer columns, and the XRD as
// its controller.
func newClaimCRD(k kind, xrd *unstructured.Unstructured) *apiextensionsv1.CustomResourceDefinition {
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	obj := func(props map[string]apiextensionsv1.JSONSchemaProps, required ...string) apiextensionsv1.JSONSchemaProps {
		return apiextensionsv1.JSONSchemaProps{Type: "object", Properties: props, Required: required}
	}
	labels := apiextensionsv1.JSONSchemaProps{Type: "object", AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Allows: true, Schema: &str}}
	named := obj(map[string]apiextensionsv1.JSONSchemaProps{"name": str}, "name")
	spec := obj(map[string]apiextensionsv1.JSONSchemaProps{
		"size":                        str,
		"replicas":                    {Type: "integer"},
		"compositionRef":              named,
		"compositionSelector":         obj(map[string]apiextensionsv1.JSONSchemaProps{"matchLabels": labels}, "matchLabels"),
		"compositionRevisionRef":      named,
		"compositionRevisionSelector": obj(map[string]apiextensionsv1.JSONSchemaProps{"matchLabels": labels}, "matchLabels"),
		"compositionUpdatePolicy":     {Type: "string", Enum: enum("Automatic", "Manual")},
		"compositeDeletePolicy":       {Type: "string", Enum: enum("Background", "Foreground")},
		"resourceRef":                 obj(map[string]apiextensionsv1.JSONSchemaProps{"apiVersion": str, "kind": str, "name": str}, "apiVersion", "kind", "name"),
		"publishConnectionDetailsTo": obj(map[string]apiextensionsv1.JSONSchemaProps{"name": str,
			"configRef": obj(map[string]apiextensionsv1.JSONSchemaProps{"name": str}),
			"metadata":  obj(map[string]apiextensionsv1.JSONSchemaProps{"labels": labels, "annotations": labels, "type": str})}, "name"),
		"writeConnectionSecretToRef": named,
	})
	// Crossplane v1.20's condition schema has no observedGeneration.
	cond := obj(map[string]apiextensionsv1.JSONSchemaProps{
		"type": str, "status": str, "reason": str, "message": str,
		"lastTransitionTime": {Type: "string", Format: "date-time"},
	}, "lastTransitionTime", "reason", "status", "type")
	mapList, setList := "map", "set"
	status := obj(map[string]apiextensionsv1.JSONSchemaProps{
		"endpoint": str,
		"conditions": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &cond},
			XListType: &mapList, XListMapKeys: []string{"type"}},
		"connectionDetails":   obj(map[string]apiextensionsv1.JSONSchemaProps{"lastPublishedTime": {Type: "string", Format: "date-time"}}),
		"claimConditionTypes": {Type: "array", XListType: &setList, Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &str}},
	})
	maxName := int64(63)
	schemaProps := obj(map[string]apiextensionsv1.JSONSchemaProps{
		"apiVersion": str, "kind": str,
		"metadata": obj(map[string]apiextensionsv1.JSONSchemaProps{"name": {Type: "string", MaxLength: &maxName}}),
		"spec":     spec, "status": status,
	}, "spec")
	col := func(name, typ, path string) apiextensionsv1.CustomResourceColumnDefinition {
		return apiextensionsv1.CustomResourceColumnDefinition{Name: name, Type: typ, JSONPath: path}
	}
	yes := true
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: k.CRDName(), OwnerReferences: []metav1.OwnerReference{{
			APIVersion: crdmirror.XRDGVK.GroupVersion().String(), Kind: crdmirror.XRDGVK.Kind,
			Name: xrd.GetName(), UID: xrd.GetUID(), Controller: &yes, BlockOwnerDeletion: &yes}}},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: benchGroup, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: k.Kind, ListKind: k.Kind + "List",
				Plural: k.Plural, Singular: strings.ToLower(k.Kind), Categories: []string{"claim"}},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: benchVersion, Served: true, Storage: true,
				Schema:       &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &schemaProps},
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				AdditionalPrinterColumns: []apiextensionsv1.CustomResourceColumnDefinition{
					col("SYNCED", "string", `.status.conditions[?(@.type=='Synced')].status`),
					col("READY", "string", `.status.conditions[?(@.type=='Ready')].status`),
					col("CONNECTION-SECRET", "string", ".spec.writeConnectionSecretToRef.name"),
					col("AGE", "date", ".metadata.creationTimestamp"),
				},
			}},
		},
	}
}

func enum(vals ...string) []apiextensionsv1.JSON {
	out := make([]apiextensionsv1.JSON, len(vals))
	for i, v := range vals {
		out[i] = apiextensionsv1.JSON{Raw: []byte(`"` + v + `"`)}
	}
	return out
}

// installKinds creates an XRD and its claim CRD for each of ks in the
// control plane, and waits until the CRDs are established.
func installKinds(ctx context.Context, cp *harness.Env, ks []kind) error {
	for _, k := range ks {
		xrd := newXRD(k)
		if err := cp.Client.Create(ctx, xrd); err != nil {
			return fmt.Errorf("create XRD %s: %w", xrd.GetName(), err)
		}
		if err := cp.Client.Create(ctx, newClaimCRD(k, xrd)); err != nil {
			return fmt.Errorf("create claim CRD %s: %w", k.CRDName(), err)
		}
	}
	return waitKinds(ctx, cp, ks, time.Minute+time.Duration(len(ks))*time.Second)
}

// waitCRDs waits until the three claim CRDs are established in env.
func waitCRDs(ctx context.Context, env *harness.Env, timeout time.Duration) error {
	return waitKinds(ctx, env, kinds, timeout)
}

// waitKinds waits until the claim CRDs of ks are established in env.
func waitKinds(ctx context.Context, env *harness.Env, ks []kind, timeout time.Duration) error {
	return harness.Poll(ctx, timeout, func() error {
		for _, k := range ks {
			if err := harness.CRDEstablished(ctx, env.Client, k.CRDName()); err != nil {
				return err
			}
		}
		return nil
	})
}
