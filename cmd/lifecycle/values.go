package lifecycle

import (
	"fmt"
	"os"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/strvals"
	"sigs.k8s.io/yaml"
)

// Values returns the chart values: files, then --set, then what the
// arguments and credential flags say (kubeconfigSecret is the Secret install
// writes for --control-plane-kubeconfig).
func (in *Install) Values(kubeconfigSecret string) (map[string]any, error) {
	vals, err := userValues(in.ValuesFiles, in.Set)
	if err != nil {
		return nil, err
	}
	setAt(vals, in.ControlPlaneNamespace, "mcp", "namespace")
	setAt(vals, in.ControlPlaneName, "mcp", "name")
	if in.ClusterID != "" {
		setAt(vals, in.ClusterID, "clusterID")
	}
	return vals, in.credentialValues(vals, kubeconfigSecret)
}

// userValues merges the values files, later over earlier, then --set.
func userValues(files, set []string) (map[string]any, error) {
	vals := map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read values file: %w", err)
		}
		m := map[string]any{}
		if err := yaml.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("parse values file %s: %w", f, err)
		}
		vals = chartutil.MergeTables(m, vals)
	}
	for _, s := range set {
		if err := strvals.ParseInto(s, vals); err != nil {
			return nil, fmt.Errorf("--set %s: %w", s, err)
		}
	}
	return vals, nil
}

// credentialValues sets the chart values of the one credential given.
func (in *Install) credentialValues(vals map[string]any, kubeconfigSecret string) error {
	switch {
	case in.ControlPlaneSecret != "":
		setAt(vals, in.ControlPlaneSecret, "mcp", "secret", "name")
	case in.ControlPlaneKubeconfig != "":
		setAt(vals, kubeconfigSecret, "controlPlane", "kubeconfigSecret", "name")
	default:
		setAt(vals, in.Token, "mcp", "token")
		setAt(vals, in.Account, "mcp", "account")
		setAt(vals, in.BaseURL, "mcp", "baseURL")
		if in.CAFile != "" {
			ca, err := os.ReadFile(in.CAFile)
			if err != nil {
				return fmt.Errorf("read --control-plane-ca-file: %w", err)
			}
			setAt(vals, string(ca), "mcp", "caBundle")
		}
	}
	return nil
}

// connectionName is the name of the Connection the release's connector
// reports: connectionName, else the control-plane namespace.
func connectionName(vals map[string]any) string {
	if name := stringAt(vals, "connectionName"); name != "" {
		return name
	}
	return stringAt(vals, "mcp", "namespace")
}

// stringAt reads a string from nested values; "" when absent.
func stringAt(values map[string]any, keys ...string) string {
	var cur any = values
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[k]
	}
	s, _ := cur.(string)
	return s
}

// setAt sets a value in nested values, creating maps on the way.
func setAt(values map[string]any, value any, keys ...string) {
	m := values
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = value
}
