package chart

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// TestValuesDocumented checks that values.yaml and values.schema.json
// describe the same values (every value the schema knows has a documented
// default, every default is known to the schema, wherever the schema closes
// an object with additionalProperties false), and that every top-level value
// in values.yaml sits under a comment.
func TestValuesDocumented(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chartDir(t), "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defaults := map[string]any{}
	if err := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(string(raw)), 4096).Decode(&defaults); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(chartDir(t), "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	root := map[string]any{}
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	s := valuesSchema{root: root}
	for _, msg := range s.compare("", root, defaults) {
		t.Error(msg)
	}
	for _, key := range undocumentedTopLevel(string(raw)) {
		t.Errorf("values.yaml: %s has no comment above it (or above its group)", key)
	}
}

// schema walks values.schema.json.
type valuesSchema struct{ root map[string]any }

// resolve follows a local $ref.
func (s valuesSchema) resolve(node map[string]any) map[string]any {
	ref, ok := node["$ref"].(string)
	if !ok {
		return node
	}
	out := s.root
	for _, p := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		out, _ = out[p].(map[string]any)
	}
	return out
}

// compare returns the differences between the closed objects of the schema
// and the defaults, below path.
func (s valuesSchema) compare(path string, node map[string]any, defaults map[string]any) []string {
	node = s.resolve(node)
	props, _ := node["properties"].(map[string]any)
	if open, ok := node["additionalProperties"].(bool); !ok || open || props == nil {
		return nil // an open object (resources, securityContext, ...): Kubernetes' own fields
	}
	var out []string
	for _, k := range sortedKeys(props) {
		if _, ok := defaults[k]; !ok && k != "global" {
			out = append(out, "values.schema.json describes "+path+k+", values.yaml has no default for it")
		}
	}
	for _, k := range sortedKeys(defaults) {
		sub, ok := props[k].(map[string]any)
		if !ok {
			out = append(out, "values.yaml has "+path+k+", values.schema.json does not describe it")
			continue
		}
		if m, isMap := defaults[k].(map[string]any); isMap {
			out = append(out, s.compare(path+k+".", sub, m)...)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var topLevelKey = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9]*):`)

// undocumentedTopLevel lists the top-level keys of a values file that no
// comment covers: a comment covers the lines after it up to a blank line.
func undocumentedTopLevel(values string) []string {
	var out []string
	covered := false
	for _, line := range strings.Split(values, "\n") {
		switch trimmed := strings.TrimSpace(line); {
		case trimmed == "":
			covered = false
		case strings.HasPrefix(trimmed, "#"):
			covered = true
		default:
			if m := topLevelKey.FindStringSubmatch(line); m != nil && !covered && !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	return out
}
