package argocd

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/mcp-connector/mcp-connector/charts"
	"github.com/mcp-connector/mcp-connector/sync"
)

// Keys of argocd-cm, one pair per API: <prefix><group>_<kind>.
const (
	HealthKeyPrefix = "resource.customizations.health."
	IgnoreKeyPrefix = "resource.customizations.ignoreDifferences."
)

// HealthScriptFile is the Lua health check, in the chart (the chart renders
// the same entries as this package).
const HealthScriptFile = "files/argocd-health.lua"

// API is one mirrored claim API, as Argo CD keys its customizations.
type API struct {
	Group string
	Kind  string
}

func (a API) String() string { return a.Group + "/" + a.Kind }

func (a API) key() string { return a.Group + "_" + a.Kind }

// HealthScript returns the Lua health check of mirrored claims.
func HealthScript() (string, error) {
	b, err := fs.ReadFile(charts.FS, path.Join(charts.ChartDir, HealthScriptFile))
	if err != nil {
		return "", fmt.Errorf("read the Argo CD health script: %w", err)
	}
	return string(b), nil
}

// IgnoreDifferences is the ignore-differences entry of every mirrored API:
// the fields the connector copies down from the control plane (Crossplane's
// spec fields, such as spec.resourceRef) belong to Crossplane, so Argo CD
// must neither show them as drift nor revert them with self-heal.
func IgnoreDifferences() string {
	return "managedFieldsManagers:\n  - " + sync.FieldManagerDown + "\n"
}

// Entries are the argocd-cm keys and values for apis.
func Entries(apis []API, script string) map[string]string {
	out := make(map[string]string, 2*len(apis))
	for _, a := range apis {
		out[HealthKeyPrefix+a.key()] = script
		out[IgnoreKeyPrefix+a.key()] = IgnoreDifferences()
	}
	return out
}

// Keys returns the keys of entries, sorted.
func Keys(entries map[string]string) []string {
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Names lists apis for a message: "a/B, c/D".
func Names(apis []API) string {
	names := make([]string, len(apis))
	for i, a := range apis {
		names[i] = a.String()
	}
	return strings.Join(names, ", ")
}
