package chart

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestGOGC renders the chart's GOGC: the default of values.yaml beside
// GOMEMLIMIT, a value of one's own, and none at all with goGC 0.
func TestGOGC(t *testing.T) {
	cases := map[string]struct {
		values values
		want   string // "" for no GOGC variable
	}{
		"default":     {values: base(), want: "50"},
		"own value":   {values: base().with("goGC", 25), want: "25"},
		"0 unsets it": {values: base().with("goGC", 0), want: ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			d := mustRender(t, testRelease, testNamespace, c.values).deployment(t)
			var got *corev1.EnvVar
			for i, e := range d.Spec.Template.Spec.Containers[0].Env {
				if e.Name == "GOGC" {
					got = &d.Spec.Template.Spec.Containers[0].Env[i]
				}
			}
			switch {
			case c.want == "" && got != nil:
				t.Errorf("GOGC = %+v, want none", got)
			case c.want != "" && (got == nil || got.Value != c.want || got.ValueFrom != nil):
				t.Errorf("GOGC = %+v, want the value %q", got, c.want)
			}
		})
	}
}
