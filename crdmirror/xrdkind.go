package crdmirror

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mcp-connector/mcp-connector/sync"
)

// OfferedKind is the kind of the objects an XRD offers an app cluster, as
// the mirror decides it (apiOf, every XRD selected): the claim kind of a
// LegacyCluster XRD, the XR kind of a Namespaced one, at the XRD's
// referenceable version (its first when none is marked), and whether those
// are claims or namespaced XRs. ok is false when the XRD offers nothing an
// app cluster may hold: no claim, scope Cluster or unknown, being deleted.
// A migration from another connector lists the remote objects of these
// kinds (cmd/lifecycle/migrate.go).
func OfferedKind(xrd *unstructured.Unstructured) (gvk schema.GroupVersionKind, kind sync.Kind, ok bool) {
	a := apiOf(xrd, nil)
	if a.CRD == "" || a.Refused != "" {
		return schema.GroupVersionKind{}, 0, false
	}
	group, _, _ := unstructured.NestedString(xrd.Object, "spec", "group")
	k, _, _ := unstructured.NestedString(xrd.Object, "spec", namesField(a.Scope), "kind")
	gvk = schema.GroupVersionKind{Group: group, Version: referenceableVersion(xrd), Kind: k}
	if gvk.Kind == "" || gvk.Version == "" {
		return schema.GroupVersionKind{}, 0, false
	}
	return gvk, a.Kind(), true
}

// referenceableVersion is the name of the XRD's version marked
// referenceable, else of its first.
func referenceableVersion(xrd *unstructured.Unstructured) string {
	versions, _, _ := unstructured.NestedSlice(xrd.Object, "spec", "versions")
	version := ""
	for _, v := range versions {
		vm, _ := v.(map[string]any)
		if name, _ := vm["name"].(string); version == "" || vm["referenceable"] == true {
			version = name
		}
	}
	return version
}
