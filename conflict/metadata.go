package conflict

import "strings"

// MetadataPolicy says which labels and annotations stay in the app cluster.
// Everything else goes up with the claim (Crossplane passes it on to the
// composite resource). An entry ending in "/*" matches a whole key prefix
// ("argocd.argoproj.io/*"); any other entry matches one key exactly.
type MetadataPolicy struct {
	LocalOnlyLabels      []string
	LocalOnlyAnnotations []string
}

// DefaultMetadataPolicy keeps the tools' own bookkeeping local: kubectl's
// last-applied configuration, ArgoCD's tracking label and annotations, Helm's
// release annotations and our own controls.
func DefaultMetadataPolicy() MetadataPolicy {
	return MetadataPolicy{
		LocalOnlyLabels: []string{"app.kubernetes.io/instance", "argocd.argoproj.io/*", Prefix + "*"},
		LocalOnlyAnnotations: []string{"kubectl.kubernetes.io/last-applied-configuration",
			"argocd.argoproj.io/*", "meta.helm.sh/*", Prefix + "*"},
	}
}

// With returns the policy with extra local-only labels and annotations.
func (p MetadataPolicy) With(labels, annotations []string) MetadataPolicy {
	return MetadataPolicy{
		LocalOnlyLabels:      append(append([]string{}, p.LocalOnlyLabels...), labels...),
		LocalOnlyAnnotations: append(append([]string{}, p.LocalOnlyAnnotations...), annotations...),
	}
}

// UpLabels returns the labels that go up with a claim.
func (p MetadataPolicy) UpLabels(in map[string]string) map[string]string {
	return without(in, p.LocalOnlyLabels)
}

// UpAnnotations returns the annotations that go up with a claim.
func (p MetadataPolicy) UpAnnotations(in map[string]string) map[string]string {
	return without(in, p.LocalOnlyAnnotations)
}

func without(in map[string]string, patterns []string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		if !matchesAny(k, patterns) {
			out[k] = v
		}
	}
	return out
}

func matchesAny(key string, patterns []string) bool {
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(key, prefix) {
			return true
		}
		if p == key {
			return true
		}
	}
	return false
}
