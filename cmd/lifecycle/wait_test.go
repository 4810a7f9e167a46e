package lifecycle

import (
	"testing"

	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
)

func TestAPIsSettled(t *testing.T) {
	api := func(state string) connection.APIState { return connection.APIState{Name: "x." + state, State: state} }
	mirroredTrue := map[string]ConditionView{connection.ConditionMirrored: {Status: "True"}}
	mirroredFalse := map[string]ConditionView{connection.ConditionMirrored: {Status: "False"}}
	cases := map[string]struct {
		v    ConnectionView
		want bool
	}{
		"AllMirrored":           {ConnectionView{Conditions: mirroredTrue, APIs: []connection.APIState{api(connection.StateMirrored)}}, true},
		"OneRefusedOneMirrored": {ConnectionView{Conditions: mirroredFalse, APIs: []connection.APIState{api(connection.StateMirrored), api(connection.StateRefused)}}, true},
		"OnePending":            {ConnectionView{Conditions: mirroredFalse, APIs: []connection.APIState{api(connection.StateMirrored), api(connection.StatePending)}}, false},
		"OnlyRefused":           {ConnectionView{Conditions: mirroredFalse, APIs: []connection.APIState{api(connection.StateRefused)}}, false},
		"NoneYet":               {ConnectionView{Conditions: mirroredFalse}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := apisSettled(tc.v); got != tc.want {
				t.Errorf("apisSettled = %v, want %v", got, tc.want)
			}
		})
	}
}
