package sync

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/csaupgrade"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/sync/controlplane"
)

// Crossplane's own condition types, copied from the remote claim.
const (
	typeReady  = "Ready"
	typeSynced = "Synced"
)

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
	return withCondition(status, local, c, r.now())
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
	return withCondition(status, local, c, r.now())
}

// offlineStatus is kept while the gate is closed. Once the control plane has
// been unreachable for longer than StalePeriod, the copied Ready and Synced
// conditions turn Unknown, so that health checks stop reporting old news; at
// once when the control-plane namespace was deleted (there is nothing left
// to be in step with).
//
// A blip is not written at all: for the first unreachableGrace of an outage
// the status stays as it is (nil), so that a control plane that comes and
// goes does not rewrite every claim twice. Later the condition's message is
// kept while its reason holds (the error text of each probe differs), so
// that an outage writes each claim once, and once more at the stale period.
func (r *reconciler) offlineStatus(local *unstructured.Unstructured, gate controlplane.GateState) map[string]any {
	if blip(gate, r.now()) {
		return nil
	}
	msg := gate.Message
	if old := findCondition(local, condition.Type); old != nil && old.Reason == gate.Reason && old.Status == metav1.ConditionFalse {
		msg = old.Message
	}
	status := r.keptStatus(local, falseCondition(gate.Reason, msg))
	reason, msg, since := condition.ReasonUnreachable,
		"last known state is stale: the control plane has been unreachable for longer than the stale period", gate.Since.Add(r.cfg.StalePeriod)
	switch {
	case gate.Reason == condition.ReasonNamespaceDeleted:
		reason, msg, since = condition.ReasonNamespaceDeleted, "last known state is stale: the control-plane namespace was deleted", gate.Since
	case gate.Reachable || r.cfg.StalePeriod <= 0 || r.now().Sub(gate.Since) < r.cfg.StalePeriod:
		return status
	}
	conds, _, _ := unstructured.NestedSlice(status, "conditions")
	for _, raw := range conds {
		m, ok := raw.(map[string]any)
		if ok && (m["type"] == typeReady || m["type"] == typeSynced) && m["status"] != string(metav1.ConditionUnknown) {
			m["status"] = string(metav1.ConditionUnknown)
			m["reason"] = reason
			m["message"] = msg
			m["lastTransitionTime"] = since.UTC().Format(time.RFC3339)
		}
	}
	status["conditions"] = conds
	return status
}

// unreachableGrace is how long the control plane may not answer before the
// claims say so: shorter outages write nothing (the Connection reports them).
const unreachableGrace = 5 * time.Second

// blip says whether the gate is closed only because the control plane has
// not answered, for less than unreachableGrace.
func blip(gate controlplane.GateState, now time.Time) bool {
	return !gate.Open && !gate.Reachable && gate.Reason == condition.ReasonUnreachable && now.Sub(gate.Since) < unreachableGrace
}

// untilStale is how long until the copied conditions of a claim turn stale
// during this outage; 0 when that is not pending.
func (r *reconciler) untilStale(gate controlplane.GateState) time.Duration {
	if blip(gate, r.now()) {
		return unreachableGrace - r.now().Sub(gate.Since)
	}
	if gate.Reachable || r.cfg.StalePeriod <= 0 {
		return 0
	}
	return max(r.cfg.StalePeriod-r.now().Sub(gate.Since), 0)
}

func syncedCondition(local *unstructured.Unstructured) metav1.Condition {
	return metav1.Condition{Type: condition.Type, Status: metav1.ConditionTrue, Reason: condition.ReasonSynced,
		Message: "the local copy and the control plane are in step", ObservedGeneration: local.GetGeneration()}
}

func falseCondition(reason, msg string) metav1.Condition {
	return metav1.Condition{Type: condition.Type, Status: metav1.ConditionFalse, Reason: reason, Message: msg}
}

// withCondition sets our condition in status, keeping its transition time
// when status and reason did not change (conditions do not flap); else the
// transition is now.
func withCondition(status map[string]any, local *unstructured.Unstructured, c metav1.Condition, now time.Time) map[string]any {
	c.ObservedGeneration = local.GetGeneration()
	c.LastTransitionTime = metav1.NewTime(now)
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
	v, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "status", "conditions")
	conds, _ := v.([]any)
	for _, raw := range conds {
		m, ok := raw.(map[string]any)
		if !ok || m["type"] != typ {
			continue
		}
		return conditionOf(m)
	}
	return nil
}

// conditionOf reads a condition from its JSON form, field by field (the
// unstructured converter's reflection was a few percent of a pass); nil
// when a field has the wrong type.
func conditionOf(m map[string]any) *metav1.Condition {
	c := &metav1.Condition{}
	for k, dst := range map[string]*string{"type": &c.Type, "reason": &c.Reason, "message": &c.Message} {
		if v, ok := m[k]; ok && v != nil {
			s, isString := v.(string)
			if !isString {
				return nil
			}
			*dst = s
		}
	}
	if v, ok := m["status"]; ok && v != nil {
		s, isString := v.(string)
		if !isString {
			return nil
		}
		c.Status = metav1.ConditionStatus(s)
	}
	switch g := m["observedGeneration"].(type) {
	case nil:
	case int64:
		c.ObservedGeneration = g
	case float64:
		c.ObservedGeneration = int64(g)
	default:
		return nil
	}
	switch t := m["lastTransitionTime"].(type) {
	case nil:
	case string:
		if err := c.LastTransitionTime.UnmarshalQueryParameter(t); err != nil {
			return nil
		}
	default:
		return nil
	}
	return c
}

// writeStatus writes status, when it is not nil and differs from the local
// claim's, by server-side apply on the status subresource under
// FieldManagerStatus. The applied status is all of it (the copied remote
// status and our condition), so that a field the control plane dropped goes
// too; no resourceVersion is sent, so there is no 409. A claim gone meanwhile
// needs no status.
func (r *reconciler) writeStatus(ctx context.Context, local *unstructured.Unstructured, status map[string]any) error {
	old, _, _ := unstructured.NestedMap(local.Object, "status")
	if status == nil || sameStatus(old, status) || r.justWrote(local, status) {
		return nil
	}
	log.FromContext(ctx).V(1).Info("Writing local status", "old", old, "new", status)
	u := r.applyConfig(local, "status", status)
	failed := r.writingLocal(local)
	if err := r.cl.localClient().Status().Patch(ctx, u, client.Apply,
		client.FieldOwner(FieldManagerStatus), client.ForceOwnership); err != nil {
		failed()
		return client.IgnoreNotFound(fmt.Errorf("apply status of claim %s: %w", klog.KObj(local), err))
	}
	r.wroteLocal(u)
	r.rememberStatus(local, u, status)
	localWrites.WithLabelValues(r.gvk.GroupKind().String(), "status").Inc()
	before, after := findCondition(local, condition.Type), findCondition(u, condition.Type)
	r.announce(local, before, after)
	if conditionChanged(before, after) {
		r.claimChanged()
	}
	return nil
}

// statusWrite is what is kept of a status write until the cache shows it:
// a digest of the status, not the status itself (at 10,000 claims the
// copies held 5 MB at an initial sync's peak), the claim's version the write
// made and the versions it supersedes.
type statusWrite struct {
	digest  [sha256.Size]byte
	written string
	// superseded are the versions the write was computed from or replaced:
	// the claim as the pass read it and those our earlier writes made.
	superseded []string
	at         time.Time
}

// maxSuperseded bounds statusWrite.superseded.
const maxSuperseded = 8

// statusDigest is a digest of status as sameStatus compares it after
// withoutOurTransition: JSON with sorted keys (encoding/json sorts them),
// conditions keyed by type. ok is false if status does not marshal.
func statusDigest(status map[string]any) (sum [sha256.Size]byte, ok bool) {
	b, err := json.Marshal(byConditionType(withoutOurTransition(status)))
	if err != nil {
		return sum, false
	}
	return sha256.Sum256(b), true
}

// rememberStatus records the status just written (the apply's answer is
// written) together with the versions of the claim that it supersedes: the
// one it was computed from and those our earlier writes made. The next pass
// may run on a cache that does not show this write yet (a watch event of an
// earlier write of ours starts it); justWrote keeps it from writing again.
func (r *reconciler) rememberStatus(local, written *unstructured.Unstructured, status map[string]any) {
	sum, ok := statusDigest(status)
	if !ok {
		r.wroteStatus.Delete(local.GetUID())
		return
	}
	superseded := []string{local.GetResourceVersion()}
	if prev, ok := r.lastStatusWrite(local); ok {
		superseded = append(append(superseded, prev.written), prev.superseded...)
	}
	r.wroteStatus.Store(local.GetUID(), &statusWrite{
		digest: sum, written: written.GetResourceVersion(),
		superseded: slices.Clip(superseded[:min(len(superseded), maxSuperseded)]), at: r.now(),
	})
}

// lastStatusWrite is our last status write to local, if the cache may still
// lag behind it.
func (r *reconciler) lastStatusWrite(local *unstructured.Unstructured) (*statusWrite, bool) {
	v, ok := r.wroteStatus.Load(local.GetUID())
	if !ok {
		return nil, false
	}
	w := v.(*statusWrite)
	if r.now().Sub(w.at) > justCreatedTTL {
		r.wroteStatus.CompareAndDelete(local.GetUID(), v)
		return nil, false
	}
	return w, true
}

// justWrote says whether status is what we last wrote and the claim, as the
// cache has it, is a version that write superseded: the cache has not caught
// up with our write yet.
func (r *reconciler) justWrote(local *unstructured.Unstructured, status map[string]any) bool {
	w, ok := r.lastStatusWrite(local)
	if !ok {
		return false
	}
	if !slices.Contains(w.superseded, local.GetResourceVersion()) {
		r.wroteStatus.Delete(local.GetUID()) // the cache shows our write, or a later one
		return false
	}
	// The pass saw the claim without our write: our condition's transition
	// time is its own now, and the digest leaves it out.
	sum, ok := statusDigest(status)
	return ok && sum == w.digest
}

// withoutOurTransition is a copy of status without the transition time of
// our condition.
func withoutOurTransition(status map[string]any) map[string]any {
	out := normalize(status)
	conds, _ := out["conditions"].([]any)
	for _, raw := range conds {
		if m, ok := raw.(map[string]any); ok && m["type"] == condition.Type {
			delete(m, "lastTransitionTime")
		}
	}
	return out
}

// legacyStatusManagers wrote claim status by update before it was applied:
// earlier connectors, under the manager named after their user agent.
var legacyStatusManagers = sets.New(FieldManagerUp)

// ensureStatusOwner hands the status fields that an earlier connector wrote
// by update over to FieldManagerStatus, once per claim, so that applying
// status removes what the control plane dropped (an apply removes only
// fields its manager owns). A claim whose status was applied has nothing to
// hand over, and costs no request. The patch carries the resourceVersion: a
// concurrent write makes it a lost race.
//
// The cache keeps only part of managedFields (TransformLocal): the patch is
// computed from a live read, made only when the cached claim shows an entry
// to hand over.
func (r *reconciler) ensureStatusOwner(ctx context.Context, local *unstructured.Unstructured) error {
	if !hasLegacyStatus(local) {
		return nil
	}
	if err := r.cl.Local.GetAPIReader().Get(ctx, client.ObjectKeyFromObject(local), local); err != nil {
		return fmt.Errorf("read claim %s: %w", klog.KObj(local), err)
	}
	patch, err := csaupgrade.UpgradeManagedFieldsPatch(local, legacyStatusManagers, FieldManagerStatus, csaupgrade.Subresource("status"))
	if err != nil {
		return fmt.Errorf("compute status ownership of %s: %w", klog.KObj(local), err)
	}
	if patch == nil {
		return nil
	}
	if err := r.cl.localClient().Patch(ctx, local, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return fmt.Errorf("hand status of %s over to %s: %w", klog.KObj(local), FieldManagerStatus, err)
	}
	r.wroteLocal(local)
	log.FromContext(ctx).Info("Status fields written by an earlier version are now applied", "fieldManager", FieldManagerStatus)
	return nil
}

// sameStatus says whether two statuses are equal as the API server stores
// them, conditions (a list keyed by type) in any order.
//
// Both are JSON values as a rule (the cache's, or one computed from them):
// compared as they are first, and only when that finds a difference once
// more as the API server would store them, so that a pass that finds
// nothing to write pays no JSON round trip.
func sameStatus(a, b map[string]any) bool {
	if conflict.EqualJSON(byConditionType(orEmpty(a)), byConditionType(orEmpty(b))) {
		return true
	}
	return conflict.EqualJSON(byConditionType(normalize(a)), byConditionType(normalize(b)))
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// byConditionType replaces status.conditions by a map keyed by type.
func byConditionType(status map[string]any) map[string]any {
	conds, ok := status["conditions"].([]any)
	if !ok {
		return status
	}
	byType := make(map[string]any, len(conds))
	for _, raw := range conds {
		if m, ok := raw.(map[string]any); ok {
			byType[fmt.Sprint(m["type"])] = m
		}
	}
	out := maps.Clone(status)
	out["conditions"] = byType
	return out
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
