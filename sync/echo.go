package sync

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	gosync "sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// Echoes: every write of ours comes back as a watch event (the finalizer
// PATCH and the status apply on the local claim, the create of the remote
// claim, the create of a local Secret). The pass that wrote already
// computed its outcome from the write's answer, so a pass started by the
// echo alone reads both clusters again to find nothing to do: at a cold
// start, three of a new claim's four passes. The syncer's event handlers
// drop an event whose object is the answer to one of our writes (same
// resourceVersion), and, for an update, whose change from the previous
// version could have come from that write alone. Anything else enqueues as
// before; a dropped echo that should not have been is caught by the next
// event or the resync, never by a write lost: the pass that wrote returns an
// error or a requeue of its own when its work is unfinished.

// echoTTL bounds how long the version of a write waits for its event.
const echoTTL = justCreatedTTL

// maxEchoes is how many versions a key remembers (one pass writes at most
// the finalizer, the spec fields down and the status).
const maxEchoes = 4

// echoes remembers, per object key, the resourceVersions our writes got
// back, and the versions our writes in flight were made on: the watch event
// of a write may reach the handler before the write's answer reaches the
// worker, and is then known by the version it changed (its old object). The
// zero value is ready to use, on the wall clock.
type echoes struct {
	m   gosync.Map // key → *echoEntry
	now func() time.Time
}

type echoEntry struct {
	// versions are what our writes returned; bases what our writes in
	// flight were made on.
	versions, bases []string
	at              time.Time
}

func (e *echoes) clock() time.Time {
	if e.now == nil {
		return time.Now()
	}
	return e.now()
}

// add records that a write of ours produced version rv of key.
func (e *echoes) add(key, rv string) {
	e.update(key, func(ent *echoEntry) { ent.versions = appendKept(ent.versions, rv) })
}

// expect records that a write of ours is being made on version base of key.
func (e *echoes) expect(key, base string) {
	e.update(key, func(ent *echoEntry) { ent.bases = appendKept(ent.bases, base) })
}

// unexpect forgets an expect whose write failed.
func (e *echoes) unexpect(key, base string) {
	e.update(key, func(ent *echoEntry) {
		if i := slices.Index(ent.bases, base); i >= 0 {
			ent.bases = slices.Delete(ent.bases, i, i+1)
		}
	})
}

func appendKept(list []string, v string) []string {
	if v == "" {
		return list
	}
	list = append(list, v)
	return list[max(len(list)-maxEchoes, 0):]
}

// update changes key's entry on a copy (handlers read entries concurrently).
func (e *echoes) update(key string, f func(*echoEntry)) {
	ent := &echoEntry{}
	if v, ok := e.m.Load(key); ok {
		old := v.(*echoEntry)
		ent.versions, ent.bases = slices.Clone(old.versions), slices.Clone(old.bases)
	}
	f(ent)
	ent.at = e.clock()
	if len(ent.versions) == 0 && len(ent.bases) == 0 {
		e.m.Delete(key)
		return
	}
	e.m.Store(key, ent)
}

// take says whether an event of key from version oldRV to newRV answers a
// write of ours (newRV is what it returned, or oldRV what one in flight was
// made on), and forgets that record: an echo is dropped once.
func (e *echoes) take(key, oldRV, newRV string) bool {
	v, ok := e.m.Load(key)
	if !ok {
		return false
	}
	ent := v.(*echoEntry)
	i, j := slices.Index(ent.versions, newRV), slices.Index(ent.bases, oldRV)
	if (i < 0 && j < 0) || e.clock().Sub(ent.at) > echoTTL {
		return false
	}
	rest := &echoEntry{versions: slices.Clone(ent.versions), bases: slices.Clone(ent.bases), at: ent.at}
	if i >= 0 {
		rest.versions = slices.Delete(rest.versions, i, i+1)
	}
	if j >= 0 && oldRV != "" {
		rest.bases = slices.Delete(rest.bases, j, j+1)
	}
	if len(rest.versions) == 0 && len(rest.bases) == 0 {
		e.m.CompareAndDelete(key, v)
	} else {
		e.m.CompareAndSwap(key, v, rest)
	}
	return true
}

// forgetExpired drops the records whose event never came (coalesced by a
// relist, or the object deleted meanwhile).
func (e *echoes) forgetExpired() {
	now := e.clock()
	e.m.Range(func(k, v any) bool {
		if now.Sub(v.(*echoEntry).at) > echoTTL {
			e.m.Delete(k)
		}
		return true
	})
}

func claimEchoKey(obj client.Object) string {
	return "claim/" + obj.GetNamespace() + "/" + obj.GetName()
}

// wroteLocal records the version of the local claim that a write of ours
// returned.
func (r *reconciler) wroteLocal(obj client.Object) {
	r.echoes.add(claimEchoKey(obj), obj.GetResourceVersion())
}

// writingLocal records that a write of ours is made on the local claim as
// obj has it; the returned func forgets it when the write failed.
func (r *reconciler) writingLocal(obj client.Object) (failed func()) {
	key, base := claimEchoKey(obj), obj.GetResourceVersion()
	r.echoes.expect(key, base)
	return func() { r.echoes.unexpect(key, base) }
}

// localClaimEcho says whether a local claim's update from old to cur is
// only the answer to one of our writes: cur is a version one of our writes
// returned, or old the version one was made on (ours), and nothing a pass reads besides what those writes set
// changed between the two: not the spec (the generation), the labels, the
// annotations, the deletion, and our finalizer is there. What our writes
// set (finalizers, status, managedFields) may differ.
func localClaimEcho(old, cur metav1.Object, ours bool) bool {
	if !ours || old.GetGeneration() != cur.GetGeneration() || !old.GetDeletionTimestamp().Equal(cur.GetDeletionTimestamp()) {
		return false
	}
	o, c := echoMetaOf(old), echoMetaOf(cur)
	return maps.Equal(o.Labels, c.Labels) &&
		maps.Equal(o.Annotations, c.Annotations) &&
		slices.Contains(c.Finalizers, conflict.Finalizer)
}

// echoMeta is the metadata localClaimEcho compares beyond the generation
// and the deletion, which a packed claim holds decoded.
type echoMeta struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Finalizers  []string          `json:"finalizers,omitempty"`
}

// echoMetaOf reads o's echoMeta: from a packed claim in one decode of
// these three fields alone (its getters decode the whole metadata each).
func echoMetaOf(o metav1.Object) echoMeta {
	if p, ok := o.(*packedClaim); ok {
		var m echoMeta
		_ = json.Unmarshal(p.rawMeta(), &m) // encoded from valid metadata
		return m
	}
	return echoMeta{Labels: o.GetLabels(), Annotations: o.GetAnnotations(), Finalizers: o.GetFinalizers()}
}

// createdEcho says whether an added object is exactly what our create of
// it returned: same uid and resourceVersion (the cache holds our creates in
// justCreated until it catches up).
func createdEcho(obj, created metav1.Object) bool {
	return created != nil && obj.GetUID() == created.GetUID() && obj.GetResourceVersion() == created.GetResourceVersion()
}

// isLocalEcho is localClaimEcho for an update event of the local source.
func (r *reconciler) isLocalEcho(e event.UpdateEvent) bool {
	ours := r.echoes.take(claimEchoKey(e.ObjectNew), e.ObjectOld.GetResourceVersion(), e.ObjectNew.GetResourceVersion())
	return localClaimEcho(e.ObjectOld, e.ObjectNew, ours)
}

// isCreatedEcho says whether an add event of the remote claims' or local
// Secrets' source is the answer to our create, remembered under key. The
// echo also ends the remembered copy: an informer stores an object before it
// tells the handlers, so the cache holds it now, and no pass would come to
// drop the copy (at the pace of an initial sync, 30 s of them were 46 MB).
func (r *reconciler) isCreatedEcho(key string, obj client.Object) bool {
	v, ok := r.justCreated.Load(key)
	if !ok {
		return false
	}
	created, _ := v.(created).obj.(metav1.Object)
	if !createdEcho(obj, created) {
		return false
	}
	r.justCreated.CompareAndDelete(key, v)
	return true
}

func (r *reconciler) isRemoteCreatedEcho(obj client.Object) bool {
	return r.isCreatedEcho(remoteKey(types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}), obj)
}

func (r *reconciler) isSecretCreatedEcho(obj client.Object) bool {
	return r.isCreatedEcho(secretKey(types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}), obj)
}

// withoutEchoes wraps an event handler so that the add events for which
// createEcho says so, and the update events for which updateEcho says so,
// enqueue nothing. Either may be nil.
func withoutEchoes(h handler.EventHandler, createEcho func(client.Object) bool, updateEcho func(event.UpdateEvent) bool) handler.EventHandler {
	return echoFilter{inner: h, createEcho: createEcho, updateEcho: updateEcho}
}

type echoFilter struct {
	inner      handler.EventHandler
	createEcho func(client.Object) bool
	updateEcho func(event.UpdateEvent) bool
}

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

func (f echoFilter) Create(ctx context.Context, e event.CreateEvent, q queue) {
	if f.createEcho != nil && f.createEcho(e.Object) {
		echoesDropped.Inc()
		return
	}
	f.inner.Create(ctx, e, q)
}

func (f echoFilter) Update(ctx context.Context, e event.UpdateEvent, q queue) {
	if f.updateEcho != nil && f.updateEcho(e) {
		echoesDropped.Inc()
		return
	}
	f.inner.Update(ctx, e, q)
}

func (f echoFilter) Delete(ctx context.Context, e event.DeleteEvent, q queue) {
	f.inner.Delete(ctx, e, q)
}

func (f echoFilter) Generic(ctx context.Context, e event.GenericEvent, q queue) {
	f.inner.Generic(ctx, e, q)
}
