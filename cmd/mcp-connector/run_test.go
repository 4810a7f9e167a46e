package main

import (
	"strings"
	"testing"
)

func TestRunValidateXRDSelector(t *testing.T) {
	cases := map[string]struct {
		selector string
		wantErr  string
		want     string
	}{
		"Empty":    {selector: "", want: "<nil>"},
		"Blank":    {selector: "  ", want: "<nil>"},
		"Equality": {selector: "offer=team-a", want: "offer=team-a"},
		"Set":      {selector: "offer in (team-a,all),!beta", want: "!beta,offer in (all,team-a)"},
		"Invalid":  {selector: "offer in team-a", wantErr: `--xrd-selector "offer in team-a" is not a label selector`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o := NewRunOptions()
			o.ControlPlaneNamespace, o.ControlPlaneKubeconfig = "team-a", "/dev/null"
			o.XRDSelector = tc.selector
			err := o.Validate()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Validate() = %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			sel, _ := o.parseXRDSelector()
			got := "<nil>"
			if sel != nil {
				got = sel.String()
			}
			if got != tc.want {
				t.Errorf("parseXRDSelector() = %s, want %s", got, tc.want)
			}
		})
	}
}
