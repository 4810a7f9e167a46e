package lifecycle

import (
	"errors"
	"fmt"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// ReleaseName is the Helm release of the connector for a control-plane
// namespace: one release per namespace, found again by `uninstall`. Helm
// allows 53 characters.
func ReleaseName(controlPlaneNamespace string) string {
	name := "mcp-connector-" + controlPlaneNamespace
	if len(name) > 53 {
		name = strings.TrimRight(name[:53], "-")
	}
	return name
}

// kubeconfigSecretName is the Secret install writes for
// --control-plane-kubeconfig.
func kubeconfigSecretName(release string) string { return release + "-control-plane-kubeconfig" }

// getRelease returns the deployed release of that name, or nil if there is
// none.
func getRelease(cfg *action.Configuration, name string) (*release.Release, error) {
	rel, err := action.NewGet(cfg).Run(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read Helm release %s: %w", name, err)
	}
	return rel, nil
}

// findRelease finds the connector's release for a control-plane namespace in
// the release namespace: under its usual name, else any release of the chart
// whose mcp.namespace is that namespace (installed with helm directly).
func findRelease(cfg *action.Configuration, controlPlaneNamespace string) (*release.Release, error) {
	rel, err := getRelease(cfg, ReleaseName(controlPlaneNamespace))
	if err != nil || rel != nil {
		return rel, err
	}
	list := action.NewList(cfg)
	list.StateMask = action.ListAll
	rels, err := list.Run()
	if err != nil {
		return nil, fmt.Errorf("list Helm releases: %w", err)
	}
	for _, r := range rels {
		if r.Chart != nil && r.Chart.Metadata != nil && r.Chart.Metadata.Name == chartName &&
			stringAt(r.Config, "mcp", "namespace") == controlPlaneNamespace {
			return r, nil
		}
	}
	return nil, nil
}

// manifestObjects returns the objects of a kind in a release's manifest.
func manifestObjects(manifest, kind string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, doc := range releaseutil.SplitManifests(manifest) {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			return nil, fmt.Errorf("decode the release manifest: %w", err)
		}
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out, nil
}
