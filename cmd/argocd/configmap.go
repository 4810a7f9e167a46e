package argocd

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// ConfigMapName is the ConfigMap Argo CD reads its settings from, and
// PartOfLabel the label Argo CD requires on it.
const (
	ConfigMapName = "argocd-cm"
	PartOfLabel   = "app.kubernetes.io/part-of"
	// FieldManager owns the connector's keys of argocd-cm, and only those.
	FieldManager = "mcp-connector-argocd"
)

// ConfigMap is argocd-cm in namespace holding entries only: what Apply
// applies and what `mcp-connector argocd` prints.
func ConfigMap(namespace string, entries map[string]string) *unstructured.Unstructured {
	data := make(map[string]any, len(entries))
	for k, v := range entries {
		data[k] = v
	}
	u := &unstructured.Unstructured{Object: map[string]any{"data": data}}
	u.SetAPIVersion("v1")
	u.SetKind("ConfigMap")
	u.SetNamespace(namespace)
	u.SetName(ConfigMapName)
	u.SetLabels(map[string]string{PartOfLabel: "argocd"})
	return u
}

// Manifest is ConfigMap as YAML.
func Manifest(namespace string, entries map[string]string) ([]byte, error) {
	return yaml.Marshal(ConfigMap(namespace, entries).Object)
}

// Apply writes entries into argocd-cm in namespace by server-side apply
// under FieldManager: the ConfigMap is created if absent; keys of other
// writers stay as they are; keys this manager wrote before and entries no
// longer hold (an API withdrawn) are removed. A key another writer holds
// with another value is a conflict, reported and left alone.
func Apply(ctx context.Context, c client.Client, namespace string, entries map[string]string) error {
	cm := ConfigMap(namespace, entries)
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(cm), client.FieldOwner(FieldManager)); err != nil {
		return fmt.Errorf("apply the mcp-connector entries to ConfigMap %s/%s: %w", namespace, ConfigMapName, err)
	}
	return nil
}

// Get reads argocd-cm, for callers that show the result.
func Get(ctx context.Context, c client.Reader, namespace string) (*corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{}
	err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ConfigMapName}, cm)
	return cm, err
}
