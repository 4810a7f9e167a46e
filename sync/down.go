package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/sync/controlplane"
)

// pullSpec writes the control plane's spec fields (resourceRef and the
// fields Crossplane chose) on the local claim, under FieldManagerDown, when
// they differ. It returns the local claim as it is afterwards.
func (r *reconciler) pullSpec(ctx context.Context, local, remote *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	localSpec, _, _ := unstructured.NestedMap(local.Object, "spec")
	remoteSpec, _, _ := unstructured.NestedMap(remote.Object, "spec")
	fromCP := ownedBy(local, FieldManagerDown)
	var userSet []string
	for k := range localSpec {
		if !slices.Contains(fromCP, k) {
			userSet = append(userSet, k)
		}
	}
	down := r.cfg.Fields.Down(remoteSpec, userSet)
	if !needsDown(localSpec, down, fromCP) {
		return local, nil
	}
	log.FromContext(ctx).V(1).Info("Writing control-plane fields down", "fields", down, "fromControlPlane", fromCP)
	patch := r.newLocal()
	patch.SetNamespace(local.GetNamespace())
	patch.SetName(local.GetName())
	patch.Object["spec"] = down
	if err := r.cl.localClient().Apply(ctx, client.ApplyConfigurationFromUnstructured(patch),
		client.FieldOwner(FieldManagerDown), client.ForceOwnership); err != nil {
		return nil, fmt.Errorf("write control-plane fields on %s: %w", klog.KObj(local), err)
	}
	localWrites.WithLabelValues(r.gvk.GroupKind().String(), "spec").Inc()
	return patch, nil
}

// needsDown says whether the local spec lacks a value that comes down, or
// still holds one the control plane no longer has.
func needsDown(local, down map[string]any, fromCP []string) bool {
	for k, v := range down {
		if !conflict.EqualJSON(local[k], v) {
			return true
		}
	}
	for _, k := range fromCP {
		if _, ok := down[k]; !ok {
			return true
		}
	}
	return false
}

// ownedBy lists the top-level spec fields that manager alone owns on obj,
// read from its managedFields.
func ownedBy(obj *unstructured.Unstructured, manager string) []string {
	mine, others := map[string]bool{}, map[string]bool{}
	for _, mf := range obj.GetManagedFields() {
		if mf.FieldsV1 == nil || mf.Subresource != "" {
			continue
		}
		var f struct {
			Spec map[string]json.RawMessage `json:"f:spec"`
		}
		if json.Unmarshal(mf.FieldsV1.Raw, &f) != nil {
			continue
		}
		set := others
		if mf.Manager == manager {
			set = mine
		}
		for k := range f.Spec {
			if len(k) > 2 && k[:2] == "f:" {
				set[k[2:]] = true
			}
		}
	}
	var out []string
	for k := range mine {
		if !others[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// mirroredStatus is the remote status, with condition generations mapped to
// the local claim, plus our own condition.
func (r *reconciler) mirroredStatus(local, remote *unstructured.Unstructured, c metav1.Condition) map[string]any {
	status, _, _ := unstructured.NestedMap(remote.Object, "status")
	if status == nil {
		status = map[string]any{}
	}
	conds, _, _ := unstructured.NestedSlice(status, "conditions")
	out := make([]any, 0, len(conds)+1)
	for _, raw := range conds {
		m, ok := raw.(map[string]any)
		if !ok || m["type"] == condition.Type {
			continue
		}
		m["observedGeneration"] = mapGeneration(m["observedGeneration"], remote.GetGeneration(), local.GetGeneration())
		out = append(out, m)
	}
	status["conditions"] = out
	return withCondition(status, local, c)
}

// mapGeneration translates a condition's observedGeneration from the remote
// claim to the local one: current remotely means current locally; behind
// remotely stays behind locally, so `kubectl wait` does not take a stale
// condition for a fresh one.
func mapGeneration(og any, remoteGen, localGen int64) int64 {
	n, ok := og.(int64)
	if !ok {
		if f, isFloat := og.(float64); isFloat {
			n, ok = int64(f), true
		}
	}
	switch {
	case !ok || n >= remoteGen:
		return localGen
	case localGen-(remoteGen-n) > 0:
		return localGen - (remoteGen - n)
	}
	return 0
}

// keptStatus is the local claim's last known status with our condition set.
func (r *reconciler) keptStatus(local *unstructured.Unstructured, c metav1.Condition) map[string]any {
	status, _, _ := unstructured.NestedMap(local.Object, "status")
	if status == nil {
		status = map[string]any{}
	}
	return withCondition(status, local, c)
}

// offlineStatus is kept while the gate is closed. Once the control plane has
// been unreachable for longer than StalePeriod, the copied Ready and Synced
// conditions turn Unknown, so that health checks stop reporting old news.
func (r *reconciler) offlineStatus(local *unstructured.Unstructured, gate controlplane.GateState) map[string]any {
	status := r.keptStatus(local, falseCondition(gate.Reason, gate.Message))
	if gate.Reachable || r.cfg.StalePeriod <= 0 || r.now().Sub(gate.Since) < r.cfg.StalePeriod {
		return status
	}
	conds, _, _ := unstructured.NestedSlice(status, "conditions")
	for _, raw := range conds {
		m, ok := raw.(map[string]any)
		if ok && (m["type"] == "Ready" || m["type"] == "Synced") && m["status"] != string(metav1.ConditionUnknown) {
			m["status"] = string(metav1.ConditionUnknown)
			m["reason"] = "ControlPlaneUnreachable"
			m["message"] = "last known state is stale: the control plane has been unreachable for longer than the stale period"
			m["lastTransitionTime"] = gate.Since.Add(r.cfg.StalePeriod).UTC().Format(time.RFC3339)
		}
	}
	status["conditions"] = conds
	return status
}

func syncedCondition(local *unstructured.Unstructured) metav1.Condition {
	return metav1.Condition{Type: condition.Type, Status: metav1.ConditionTrue, Reason: "Synced",
		Message: "the local copy and the control plane are in step", ObservedGeneration: local.GetGeneration()}
}

func falseCondition(reason, msg string) metav1.Condition {
	return metav1.Condition{Type: condition.Type, Status: metav1.ConditionFalse, Reason: reason, Message: msg}
}

// withCondition sets our condition in status, keeping its transition time
// when status and reason did not change (conditions do not flap).
func withCondition(status map[string]any, local *unstructured.Unstructured, c metav1.Condition) map[string]any {
	c.ObservedGeneration = local.GetGeneration()
	c.LastTransitionTime = metav1.Now()
	if old := findCondition(local, condition.Type); old != nil && old.Status == c.Status && old.Reason == c.Reason {
		c.LastTransitionTime = old.LastTransitionTime
	}
	m, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(&c)
	conds, _, _ := unstructured.NestedSlice(status, "conditions")
	out := make([]any, 0, len(conds)+1)
	for _, raw := range conds {
		if cm, ok := raw.(map[string]any); !ok || cm["type"] != condition.Type {
			out = append(out, raw)
		}
	}
	status["conditions"] = append(out, m)
	return status
}

func findCondition(obj *unstructured.Unstructured, typ string) *metav1.Condition {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, raw := range conds {
		m, ok := raw.(map[string]any)
		if !ok || m["type"] != typ {
			continue
		}
		c := &metav1.Condition{}
		if runtime.DefaultUnstructuredConverter.FromUnstructured(m, c) != nil {
			return nil
		}
		return c
	}
	return nil
}

// writeStatus writes status through the status subresource when it differs
// from the local claim's, and says so with an Event when our condition
// changed to a state a user should hear about.
func (r *reconciler) writeStatus(ctx context.Context, local *unstructured.Unstructured, status map[string]any) error {
	old, _, _ := unstructured.NestedMap(local.Object, "status")
	if conflict.EqualJSON(normalize(old), normalize(status)) {
		return nil
	}
	before := findCondition(local, condition.Type)
	log.FromContext(ctx).V(1).Info("Writing local status", "old", old, "new", status)
	u := local.DeepCopy()
	u.Object["status"] = status
	if err := r.cl.localClient().Status().Update(ctx, u); err != nil {
		return fmt.Errorf("write status of %s: %w", klog.KObj(local), err)
	}
	localWrites.WithLabelValues(r.gvk.GroupKind().String(), "status").Inc()
	r.announce(local, before, findCondition(u, condition.Type))
	return nil
}

// announce emits an Event when our condition changes reason. Gate reasons
// (an outage) are left to the Connection: one outage, not one Event a claim.
func (r *reconciler) announce(local *unstructured.Unstructured, before, after *metav1.Condition) {
	if after == nil || (before != nil && before.Reason == after.Reason) {
		return
	}
	switch after.Reason {
	case "Synced", condition.ReasonUnreachable, condition.ReasonStarting, "Deleting", "RemoteDeleting":
		return
	case "ForeignObject", "OwnedByOtherCluster", "NameCollision":
		r.countConflict(after.Reason)
	}
	r.event(local, corev1.EventTypeWarning, after.Reason, after.Message)
}

// normalize round-trips a value through JSON so that comparisons see what
// the API server would store (times as strings, numbers as int64/float64).
func normalize(v map[string]any) map[string]any {
	if v == nil {
		return map[string]any{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return out
}

// untilStale is how long until the copied conditions of a claim turn stale
// during this outage; 0 when that is not pending.
func (r *reconciler) untilStale(gate controlplane.GateState) time.Duration {
	if gate.Reachable || r.cfg.StalePeriod <= 0 {
		return 0
	}
	return max(r.cfg.StalePeriod-r.now().Sub(gate.Since), 0)
}
