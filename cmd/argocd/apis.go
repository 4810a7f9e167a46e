package argocd

import (
	"context"
	"fmt"
	"sort"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// MirroredAPIs picks the claim APIs among crds: those the connector mirrored
// (its managed label and the XRD they were generated from), whatever
// Connection owns them, sorted by group and kind.
func MirroredAPIs(crds []apiextensionsv1.CustomResourceDefinition) []API {
	var apis []API
	for _, crd := range crds {
		if crd.Labels[conflict.LabelManaged] != "true" || crd.Annotations[conflict.AnnotationXRD] == "" {
			continue
		}
		apis = append(apis, API{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind})
	}
	sort.Slice(apis, func(i, j int) bool { return apis[i].String() < apis[j].String() })
	return apis
}

// ListMirroredAPIs reads the app cluster's CRDs and returns the mirrored
// claim APIs.
func ListMirroredAPIs(ctx context.Context, c client.Reader) ([]API, error) {
	crds := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := c.List(ctx, crds, client.MatchingLabels{conflict.LabelManaged: "true"}); err != nil {
		return nil, fmt.Errorf("list the mirrored CRDs: %w", err)
	}
	return MirroredAPIs(crds.Items), nil
}

// Build lists the mirrored APIs of the app cluster and returns them with
// their argocd-cm entries. No mirrored API is an error: the entries would be
// empty, and the likely cause (no connector running, or another cluster) is
// worth saying.
func Build(ctx context.Context, c client.Reader) ([]API, map[string]string, error) {
	apis, err := ListMirroredAPIs(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	if len(apis) == 0 {
		return nil, nil, fmt.Errorf("no claim API is mirrored in this cluster (no CRD labelled %s=true with annotation %s): "+
			"is the connector running here, and has it mirrored the control plane's APIs yet? (`mcp-connector status`)",
			conflict.LabelManaged, conflict.AnnotationXRD)
	}
	script, err := HealthScript()
	if err != nil {
		return nil, nil, err
	}
	return apis, Entries(apis, script), nil
}
