package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// The claim of the documentation users come from (examples/my-cluster.yaml,
// byte for byte the YAML of issue 16), applied as is with kubectl to the app
// cluster, is accepted, goes up with its spec.id and spec.parameters, becomes
// Ready with its composed status, and gets its connection Secret.
func TestSeedClaimVerbatim(t *testing.T) {
	sharedConnector(t)
	path, err := harness.ExamplePath("my-cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := harness.ReadObjects(path)
	if err != nil || len(objs) != 1 {
		t.Fatalf("read %s: %d objects, %v", path, len(objs), err)
	}
	local := objs[0]
	if out, err := exec.Command("kubectl", "--kubeconfig", world.App.Kubeconfig, "apply", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply -f %s: %v\n%s", path, err, out)
	}
	t.Cleanup(func() {
		if err := world.App.Client.Delete(context.Background(), local); err != nil {
			t.Errorf("delete %s: %v", local.GetName(), err)
		}
		waitRemoteGone(t, local)
	})

	remote := waitRemote(t, local, func(r *unstructured.Unstructured) error {
		return hasOriginMarks(r, local.GetNamespace(), local.GetName())
	})
	for _, field := range []string{"id", "parameters"} {
		want, _ := json.Marshal(local.Object["spec"].(map[string]any)[field])
		got, _ := json.Marshal(remote.Object["spec"].(map[string]any)[field])
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("remote spec.%s (-file +remote):\n%s", field, diff)
		}
	}
	waitLocal(t, local, func(u *unstructured.Unstructured) error {
		if err := readyAndSynced(u); err != nil {
			return err
		}
		// Composed from spec.parameters.nodes.count (examples/composition.yaml).
		if ready, _, _ := unstructured.NestedInt64(u.Object, "status", "nodes", "ready"); ready != 3 {
			return fmt.Errorf("status.nodes.ready = %d, want 3", ready)
		}
		return nil
	})
	secret := waitSecret(t, local.GetNamespace(), "my-cluster-kubeconfig")
	for _, k := range harness.ExampleConnectionKeys() {
		if len(secret.Data[k]) == 0 {
			t.Errorf("connection Secret my-cluster-kubeconfig lacks key %q", k)
		}
	}
}
