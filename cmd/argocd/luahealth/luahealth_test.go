package luahealth

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEvaluate(t *testing.T) {
	obj := map[string]any{"kind": "X", "spec": map[string]any{"count": int64(3)}, "status": map[string]any{"phase": "Up"}}
	cases := map[string]struct {
		reason  string
		script  string
		want    Health
		wantErr string
	}{
		"ReadsObj": {reason: "The object is the global obj; an int64 reads as a number.",
			script: `return {status = "Healthy", message = obj.kind .. " " .. obj.status.phase .. " " .. (obj.spec.count + 1)}`,
			want:   Health{Status: Healthy, Message: "X Up 4"}},
		"Nil": {reason: "A script that returns nothing gives an empty verdict, as in Argo CD.", script: `return nil`, want: Health{}},
		"InvalidStatus": {reason: "A status Argo CD does not know is Unknown.", script: `return {status = "Fine"}`,
			want: Health{Status: Unknown, Message: "Lua returned an invalid health status"}},
		"NotATable": {reason: "A string is not a verdict.", script: `return "Healthy"`, wantErr: "want a table"},
		"NoOS":      {reason: "The os library is closed, as in Argo CD (which opens only a safe subset).", script: `return {status = os.getenv("HOME")}`, wantErr: "run the health script"},
		"Endless":   {reason: "A script that never ends is stopped after a second.", script: `while true do end`, wantErr: "run the health script"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Evaluate(tc.script, obj)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("%s\nerror %v, want one containing %q", tc.reason, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n-want +got:\n%s", tc.reason, diff)
			}
		})
	}
}
