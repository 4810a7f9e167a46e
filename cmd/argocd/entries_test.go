package argocd

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mcp-connector/mcp-connector/cmd/argocd/luahealth"
	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync/condition"
)

func claim(conds ...map[string]any) map[string]any {
	obj := map[string]any{"apiVersion": "k8s.starter.org/v1alpha1", "kind": "KubernetesCluster"}
	if conds != nil {
		list := make([]any, len(conds))
		for i, c := range conds {
			list[i] = c
		}
		obj["status"] = map[string]any{"conditions": list}
	}
	return obj
}

func cond(typ, status, reason string) map[string]any {
	return map[string]any{"type": typ, "status": status, "reason": reason, "message": reason + " says so"}
}

func evaluate(t *testing.T, obj map[string]any) luahealth.Health {
	t.Helper()
	script, err := HealthScript()
	if err != nil {
		t.Fatal(err)
	}
	h, err := luahealth.Evaluate(script, obj)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHealthScript(t *testing.T) {
	synced := cond(condition.Type, "True", condition.ReasonSynced)
	cases := map[string]struct {
		reason string
		obj    map[string]any
		want   string
	}{
		"NoStatus": {reason: "A claim nothing has come back for yet is Progressing.", obj: claim(), want: luahealth.Progressing},
		"Waiting": {reason: "Crossplane works on it: Synced True, Ready False.",
			obj: claim(synced, cond("Synced", "True", "ReconcileSuccess"), cond("Ready", "False", "Waiting")), want: luahealth.Progressing},
		"Ready": {reason: "Ready True is Healthy.",
			obj: claim(synced, cond("Synced", "True", "ReconcileSuccess"), cond("Ready", "True", "Available")), want: luahealth.Healthy},
		"SyncedFalse": {reason: "Synced False is Degraded, even with Ready True.",
			obj: claim(synced, cond("Ready", "True", "Available"), cond("Synced", "False", "ReconcileError")), want: luahealth.Degraded},
		"LastAsyncOperationFalse": {reason: "A failed asynchronous operation is Degraded.",
			obj: claim(cond("LastAsyncOperation", "False", "AsyncCreateFailure")), want: luahealth.Degraded},
		"Conflict": {reason: "A refused push (the remote name is someone else's) is Degraded.",
			obj: claim(cond(condition.Type, "False", condition.ReasonForeignObject)), want: luahealth.Degraded},
		"OutageKeepsLastKnown": {reason: "An outage shorter than the stale period keeps the last known Ready.",
			obj: claim(cond(condition.Type, "False", condition.ReasonUnreachable), cond("Ready", "True", "Available")), want: luahealth.Healthy},
		"StaleIsProgressing": {reason: "After the stale period Ready is Unknown: Progressing.",
			obj: claim(cond(condition.Type, "False", condition.ReasonUnreachable), cond("Ready", "Unknown", condition.ReasonUnreachable)), want: luahealth.Progressing},
		"CompositeResource": {reason: "A composite resource's conditions read the same way.",
			obj: map[string]any{"kind": "XKubernetesCluster", "status": map[string]any{"conditions": []any{cond("Ready", "True", "Available")}}}, want: luahealth.Healthy},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, evaluate(t, tc.obj).Status); diff != "" {
				t.Errorf("%s\n-want +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// The Lua's list of reasons that do not degrade a claim is the Go
// classification of sync/condition: a claim in conflict or failing is
// Degraded; stale, deleting or the gate's reasons are not.
func TestHealthScriptFollowsClaimStates(t *testing.T) {
	reasons := []string{condition.ReasonSynced, condition.ReasonStarting, condition.ReasonUnreachable,
		condition.ReasonNamespaceHeld, condition.ReasonNamespaceUnavailable, condition.ReasonForbidden,
		condition.ReasonNamespaceDeleted, condition.ReasonClusterIDInUse, condition.ReasonOwnedByOtherCluster,
		condition.ReasonForeignObject, condition.ReasonNameCollision, condition.ReasonOwnedByOtherCopy,
		condition.ReasonSecretConflict, condition.ReasonSecretFailed, condition.ReasonRemoteDeleting,
		condition.ReasonRemoteDeleted, condition.ReasonDeleting, condition.ReasonPushFailed, "SomeFutureReason"}
	for _, reason := range reasons {
		state := condition.ClaimState(reason)
		want := luahealth.Progressing
		if state == condition.ClaimInConflict || state == condition.ClaimFailing {
			want = luahealth.Degraded
		}
		got := evaluate(t, claim(cond(condition.Type, "False", reason))).Status
		if got != want {
			t.Errorf("ControlPlaneSynced False/%s (claim state %q): health %s, want %s", reason, state, got, want)
		}
	}
}

func TestMirroredAPIs(t *testing.T) {
	crd := func(group, kind string, labels, annotations map[string]string) apiextensionsv1.CustomResourceDefinition {
		return apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: kind + "." + group, Labels: labels, Annotations: annotations},
			Spec:       apiextensionsv1.CustomResourceDefinitionSpec{Group: group, Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: kind}},
		}
	}
	managed := map[string]string{conflict.LabelManaged: "true", conflict.LabelConnection: "c"}
	fromXRD := map[string]string{conflict.AnnotationXRD: "x"}
	crds := []apiextensionsv1.CustomResourceDefinition{
		crd("z.example.org", "Widget", managed, fromXRD),
		crd("k8s.starter.org", "KubernetesCluster", managed, fromXRD),
		crd("mcp-connector.io", "Connection", map[string]string{conflict.LabelManaged: "true"}, nil),
		crd("other.org", "Foreign", map[string]string{"owner": "someone"}, fromXRD),
	}
	want := []API{{Group: "k8s.starter.org", Kind: "KubernetesCluster"}, {Group: "z.example.org", Kind: "Widget"}}
	if diff := cmp.Diff(want, MirroredAPIs(crds)); diff != "" {
		t.Errorf("only mirrored claim CRDs, sorted, not the Connection CRD nor a foreign one\n-want +got:\n%s", diff)
	}
}

func TestEntries(t *testing.T) {
	got := Entries([]API{{Group: "k8s.starter.org", Kind: "KubernetesCluster"}}, "return nil")
	want := map[string]string{
		"resource.customizations.health.k8s.starter.org_KubernetesCluster":            "return nil",
		"resource.customizations.ignoreDifferences.k8s.starter.org_KubernetesCluster": "managedFieldsManagers:\n  - mcp-connector-down\n",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
}
