package lifecycle

import (
	"crypto/sha256"
	"encoding/hex"
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

// releaseNameMax is the longest release name Helm allows.
const releaseNameMax = 53

// releaseHashLength is how many hex digits of the namespace's hash a cut
// release name ends in.
const releaseHashLength = 10

// ReleaseName is the Helm release of the connector for a control-plane
// namespace: one release per namespace, found again by `uninstall`.
// "mcp-connector-<namespace>" while that fits in Helm's 53 characters (so
// that releases installed before stay found under their name); else cut,
// and made unique again by a hash of the whole namespace: two namespaces
// that share their first characters never share a release.
func ReleaseName(controlPlaneNamespace string) string {
	name := "mcp-connector-" + controlPlaneNamespace
	if len(name) <= releaseNameMax {
		return name
	}
	sum := sha256.Sum256([]byte(controlPlaneNamespace))
	suffix := hex.EncodeToString(sum[:])[:releaseHashLength]
	return strings.TrimRight(name[:releaseNameMax-len(suffix)-1], "-") + "-" + suffix
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
// (installed with helm directly, or named before names were hashed); either
// way only a release whose mcp.namespace is that namespace (releaseFor).
func findRelease(cfg *action.Configuration, controlPlaneNamespace string) (*release.Release, error) {
	rel, err := getRelease(cfg, ReleaseName(controlPlaneNamespace))
	if err != nil {
		return nil, err
	}
	if rel != nil && servesNamespace(rel, controlPlaneNamespace) {
		return rel, nil
	}
	list := action.NewList(cfg)
	list.StateMask = action.ListAll
	rels, err := list.Run()
	if err != nil {
		return nil, fmt.Errorf("list Helm releases: %w", err)
	}
	return releaseFor(rels, controlPlaneNamespace)
}

// releaseFor picks the one release of the chart that serves a control-plane
// namespace; nil when there is none, an error when there are several.
func releaseFor(rels []*release.Release, controlPlaneNamespace string) (*release.Release, error) {
	var found []*release.Release
	for _, r := range rels {
		if servesNamespace(r, controlPlaneNamespace) {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("two Helm releases, %s and %s, in namespace %s connect control-plane namespace %s; uninstall one of them with helm",
		found[0].Name, found[1].Name, found[0].Namespace, controlPlaneNamespace)
}

// servesNamespace says whether a release is one of the chart whose value
// mcp.namespace is the control-plane namespace.
func servesNamespace(r *release.Release, controlPlaneNamespace string) bool {
	return r.Chart != nil && r.Chart.Metadata != nil && r.Chart.Metadata.Name == chartName &&
		stringAt(r.Config, "mcp", "namespace") == controlPlaneNamespace
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
