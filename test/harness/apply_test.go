package harness

import (
	"testing"
)

// TestExamplesDecode checks that every example file decodes to the objects
// the harness and the demo expect.
func TestExamplesDecode(t *testing.T) {
	cases := map[string]struct {
		file     string
		wantKind string
		wantName string
	}{
		"XRD":         {file: "xrd.yaml", wantKind: "CompositeResourceDefinition", wantName: ExampleXRDName},
		"Composition": {file: "composition.yaml", wantKind: "Composition", wantName: ExampleCompositionName},
		"Claim":       {file: "claim.yaml", wantKind: ExampleClaimKind, wantName: "demo"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			path, err := ExamplePath(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := ReadObjects(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != 1 || objs[0].GetKind() != tc.wantKind || objs[0].GetName() != tc.wantName {
				t.Fatalf("%s holds %d objects, first %s %s; want one %s %s", tc.file, len(objs), objs[0].GetKind(), objs[0].GetName(), tc.wantKind, tc.wantName)
			}
		})
	}
}
