package crdmirror

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
)

// The scopes of an XR (spec.scope of an XRD). Crossplane v2 serves every XRD
// through apiextensions.crossplane.io/v1 too, with its scope; a Crossplane
// v1 XRD has no scope field: LegacyCluster.
const (
	ScopeLegacyCluster = "LegacyCluster"
	ScopeNamespaced    = "Namespaced"
	ScopeCluster       = "Cluster"
)

// AnnotationScope on a mirrored CRD is the scope of the XRD it comes from: it
// says, without asking the control plane, whether its objects are claims
// (LegacyCluster) or namespaced XRs (Namespaced).
const AnnotationScope = conflict.Prefix + "xrd-scope"

// refusedCluster is the Connection's message for a scope: Cluster XRD.
const refusedCluster = "the XRD defines a cluster-scoped composite resource (scope Cluster): it is not mirrored, " +
	"because an app cluster must not create cluster-wide objects in a shared control plane; offer it as a namespaced XR (scope Namespaced) instead"

// api is what an XRD offers the app cluster.
type api struct {
	// CRD is the name of the CRD to mirror: the claim CRD of a LegacyCluster
	// XRD, the XR CRD of a Namespaced one; "" when nothing is offered
	// (gone, being deleted, no claim, not selected): the API is withdrawn.
	CRD string
	// Scope is the XRD's scope.
	Scope string
	// Refused, when set, says why the XRD's API is not mirrored (CRD then
	// names the API it would have been).
	Refused string
}

// Kind is what the mirrored API's syncer syncs.
func (a api) Kind() sync.Kind { return kindOfScope(a.Scope) }

func kindOfScope(scope string) sync.Kind {
	if scope == ScopeNamespaced {
		return sync.KindXR
	}
	return sync.KindClaim
}

// apiOf decides what an XRD offers. selector (nil: every XRD) picks the XRDs
// whose APIs this connector mirrors; an XRD that does not match offers
// nothing, as one deleted: its API is withdrawn (never its remote objects).
func apiOf(xrd *unstructured.Unstructured, selector labels.Selector) api {
	if xrd == nil || !xrd.GetDeletionTimestamp().IsZero() {
		return api{}
	}
	if selector != nil && !selector.Matches(labels.Set(xrd.GetLabels())) {
		return api{}
	}
	scope, _, _ := unstructured.NestedString(xrd.Object, "spec", "scope")
	if scope == "" {
		scope = ScopeLegacyCluster
	}
	group, _, _ := unstructured.NestedString(xrd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(xrd.Object, "spec", namesField(scope), "plural")
	if plural == "" || group == "" {
		return api{}
	}
	out := api{CRD: plural + "." + group, Scope: scope}
	switch scope {
	case ScopeLegacyCluster, ScopeNamespaced:
	case ScopeCluster:
		out.Refused = refusedCluster
	default:
		out.Refused = "the XRD has scope " + scope + ", which this connector does not know: it is not mirrored"
	}
	return out
}

// namesField is the field of an XRD of that scope that names the API it
// offers: claimNames (the claim) for LegacyCluster, names (the XR) otherwise.
func namesField(scope string) string {
	if scope == ScopeLegacyCluster {
		return "claimNames"
	}
	return "names"
}

// withdrawReason says why an XRD offers nothing: it is gone or going, it
// does not match the selector, or it offers no claim.
func withdrawReason(xrd *unstructured.Unstructured, selector labels.Selector) string {
	switch {
	case xrd == nil || !xrd.GetDeletionTimestamp().IsZero():
		return "the control plane withdrew this API"
	case selector != nil && !selector.Matches(labels.Set(xrd.GetLabels())):
		return "the XRD does not match the connector's --xrd-selector " + selector.String()
	default:
		return "the XRD no longer offers a claim"
	}
}
