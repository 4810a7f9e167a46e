package crdmirror

import (
	"maps"
	"slices"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
)

// Source says where a mirrored CRD comes from; it is written on the CRD.
type Source struct {
	// Connection names the Connection (the connector) that owns the mirror.
	Connection string
	// ControlPlane is the control plane's API server address.
	ControlPlane string
	// XRD is the CompositeResourceDefinition the CRD was generated from.
	XRD string
	// Scope is the XRD's scope: LegacyCluster (a claim CRD) or Namespaced
	// (a namespaced XR's CRD); "" writes no AnnotationScope.
	Scope string
}

// Mirror turns the claim CRD (or namespaced XR CRD) that Crossplane generated in the control plane
// into the CRD to apply in the app cluster. Only the API survives: group,
// names, scope, versions with schemas, printer columns and subresources.
// Control-plane details go (uid, resourceVersion, ownerReferences,
// managedFields, status, any conversion webhook the app cluster cannot
// reach). The name length limit is lifted: local names are mapped to short
// remote names. Versions that still hold stored objects locally
// (storedVersions) but left the control plane are kept, no longer served.
//
// local is the mirrored CRD as the app cluster has it now, or nil.
func Mirror(remote *apiextensionsv1.CustomResourceDefinition, src Source, local *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.CustomResourceDefinition {
	out := &apiextensionsv1.CustomResourceDefinition{
		TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        remote.Name,
			Labels:      mirrorLabels(remote.Labels, src),
			Annotations: mirrorAnnotations(remote.Annotations, src),
		},
	}
	remote.Spec.DeepCopyInto(&out.Spec)
	out.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter}
	out.Spec.PreserveUnknownFields = false
	for i := range out.Spec.Versions {
		liftNameLimit(&out.Spec.Versions[i])
		allowConditionGeneration(&out.Spec.Versions[i])
	}
	if local != nil {
		out.Spec.Versions = keepStored(out.Spec.Versions, local)
	}
	return out
}

func mirrorLabels(in map[string]string, src Source) map[string]string {
	out := maps.Clone(in)
	if out == nil {
		out = map[string]string{}
	}
	out[conflict.LabelManaged] = "true"
	out[conflict.LabelConnection] = src.Connection
	return out
}

func mirrorAnnotations(in map[string]string, src Source) map[string]string {
	out := maps.Clone(in)
	if out == nil {
		out = map[string]string{}
	}
	out[conflict.AnnotationXRD] = src.XRD
	out[conflict.AnnotationControlPlane] = src.ControlPlane
	if src.Scope != "" {
		out[AnnotationScope] = src.Scope
	}
	return out
}

// liftNameLimit drops the metadata.name length limit that Crossplane puts on
// claims (63, because it copies names into label values): the connector maps
// every local name to a remote name that fits, so local names may use the
// full 253 characters Kubernetes allows.
func liftNameLimit(v *apiextensionsv1.CustomResourceDefinitionVersion) {
	if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
		return
	}
	meta, ok := v.Schema.OpenAPIV3Schema.Properties["metadata"]
	if !ok {
		return
	}
	if name, ok := meta.Properties["name"]; ok {
		name.MaxLength = nil
		meta.Properties["name"] = name
	}
	v.Schema.OpenAPIV3Schema.Properties["metadata"] = meta
}

// allowConditionGeneration adds observedGeneration to the schema of
// status.conditions items when it lacks one (Crossplane v1's claim CRDs do).
// The connector writes each copied condition with the local generation it
// corresponds to, so that `kubectl wait` and health checks can tell a fresh
// condition from a stale one; without the field the API server would prune
// it, and every status comparison would see a difference that no write can
// remove. The field is optional: objects valid before stay valid.
func allowConditionGeneration(v *apiextensionsv1.CustomResourceDefinitionVersion) {
	if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
		return
	}
	status, ok := v.Schema.OpenAPIV3Schema.Properties["status"]
	if !ok {
		return
	}
	conds, ok := status.Properties["conditions"]
	if !ok || conds.Items == nil || conds.Items.Schema == nil || conds.Items.Schema.Properties == nil {
		return
	}
	if _, ok := conds.Items.Schema.Properties["observedGeneration"]; ok {
		return
	}
	conds.Items.Schema.Properties["observedGeneration"] = apiextensionsv1.JSONSchemaProps{Type: "integer", Format: "int64", Minimum: ptrTo(0.0)}
}

// keepStored appends, no longer served, every version that the local API
// server still stores objects in but that the control plane dropped: the API
// server refuses to remove a stored version, and removing it would strand the
// data. The kept version keeps the schema it had locally. The control plane's
// storage version stays the storage version.
func keepStored(versions []apiextensionsv1.CustomResourceDefinitionVersion, local *apiextensionsv1.CustomResourceDefinition) []apiextensionsv1.CustomResourceDefinitionVersion {
	for _, name := range local.Status.StoredVersions {
		if slices.ContainsFunc(versions, func(v apiextensionsv1.CustomResourceDefinitionVersion) bool { return v.Name == name }) {
			continue
		}
		kept := apiextensionsv1.CustomResourceDefinitionVersion{Name: name,
			Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
				Type: "object", XPreserveUnknownFields: ptrTo(true)}}}
		if i := slices.IndexFunc(local.Spec.Versions, func(v apiextensionsv1.CustomResourceDefinitionVersion) bool { return v.Name == name }); i >= 0 {
			local.Spec.Versions[i].DeepCopyInto(&kept)
		}
		kept.Served, kept.Storage = false, false
		versions = append(versions, kept)
	}
	return versions
}

func ptrTo[T any](v T) *T { return &v }

// StorageVersion is the version the syncer reads and writes: the storage
// version, which Crossplane makes the referenceable one.
func StorageVersion(crd *apiextensionsv1.CustomResourceDefinition) string {
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			return v.Name
		}
	}
	return ""
}

// kindOfCRD says what the objects of a mirrored CRD are, from its
// AnnotationScope (a CRD mirrored before it existed holds claims).
func kindOfCRD(crd *apiextensionsv1.CustomResourceDefinition) sync.Kind {
	return kindOfScope(crd.Annotations[AnnotationScope])
}
