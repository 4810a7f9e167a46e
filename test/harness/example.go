package harness

import (
	"fmt"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The example API of examples/xrd.yaml, which every control plane serves.
const (
	ExampleGroup       = "k8s.starter.org"
	ExampleVersion     = "v1alpha1"
	ExampleClaimKind   = "KubernetesCluster"
	ExampleClaimPlural = "kubernetesclusters"
	ExampleXRKind      = "XKubernetesCluster"
	ExampleXRDName     = "xkubernetesclusters." + ExampleGroup
	// ExampleCompositionName is the Composition of examples/composition.yaml.
	ExampleCompositionName = "xkubernetesclusters-nop"
	ExampleClaimCRDName    = ExampleClaimPlural + "." + ExampleGroup
	// ExamplePassword is the value of the password connection key.
	ExamplePassword = "nop-password"
)

// ExampleClaimGVK is the kind of the example claim.
func ExampleClaimGVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: ExampleGroup, Version: ExampleVersion, Kind: ExampleClaimKind}
}

// ExampleConnectionKeys are the keys Crossplane writes into a claim's
// connection Secret (examples/composition.yaml, examples/xrd.yaml).
func ExampleConnectionKeys() []string { return []string{"kubeconfig", "password"} }

// ExampleClaimGVR is the resource of the example claim, for the dynamic client.
func ExampleClaimGVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: ExampleGroup, Version: ExampleVersion, Resource: ExampleClaimPlural}
}

// NewExampleClaim returns a KubernetesCluster claim with count nodes of size
// small that writes its connection Secret to <name>-kubeconfig.
func NewExampleClaim(namespace, name string, count int64) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"nodes": map[string]any{"count": count, "size": "small"},
			"writeConnectionSecretToRef": map[string]any{
				"name": name + "-kubeconfig",
			},
		},
	}}
	u.SetGroupVersionKind(ExampleClaimGVK())
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

// ExamplePath returns the path of a file in the repository's examples/.
func ExamplePath(file string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("find examples/%s: %w", file, err)
	}
	return filepath.Join(root, "examples", file), nil
}
