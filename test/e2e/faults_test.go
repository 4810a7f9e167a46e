package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// The fault tests run connectors of their own, each between a fresh app
// cluster and a namespace of its own in the shared control plane, reached
// through a FaultProxy: killing them, cutting them off or running two of them
// disturbs no other test, and a mirrored CRD has exactly one owner.

// convergeTimeout bounds the wait for both clusters to agree after a fault.
const convergeTimeout = 2 * time.Minute

// faultRig is one app cluster, its connector configuration and the proxy
// between that connector and the control plane.
type faultRig struct {
	app   *harness.Env
	proxy *harness.FaultProxy
	// namespace is the control-plane namespace, also the Connection's name.
	namespace string
	clusterID string
	// claims is the app-cluster namespace that holds the test's claims.
	claims string
	cfg    harness.ConnectorConfig
	dir    string
	audit  *remoteAudit
}

// newFaultRig starts an app cluster and a proxy to the control plane and
// creates the namespaces on both sides. Connectors are started with start.
func newFaultRig(t *testing.T, extraArgs ...string) *faultRig {
	t.Helper()
	p := harness.StartProxiedApp(t, world.ControlPlane, "faults-app", "faults-")
	app := p.App
	r := &faultRig{app: app, proxy: p.Proxy, namespace: p.Namespace, clusterID: p.ClusterID, dir: p.Dir, cfg: p.Config}
	r.cfg.ExtraArgs = append([]string{"--probe-interval=1s"}, extraArgs...)
	r.claims = "claims"
	create(t, app.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.claims}})
	r.audit = startRemoteAudit(t, r)
	t.Cleanup(func() {
		if t.Failed() {
			r.logClaims(t)
		}
	})
	return r
}

// logClaims logs the conditions of every claim on both sides, for a failed
// test.
func (r *faultRig) logClaims(t *testing.T) {
	t.Helper()
	locals, lerr := r.listLocal()
	remotes, rerr := r.listRemote()
	t.Logf("claims when the test ended (errors: %v, %v):", lerr, rerr)
	for side, list := range map[string][]unstructured.Unstructured{"local": locals, "remote": remotes} {
		for i := range list {
			conds, _, _ := unstructured.NestedSlice(list[i].Object, "status", "conditions")
			var summary []string
			for _, raw := range conds {
				if c, ok := raw.(map[string]any); ok {
					summary = append(summary, fmt.Sprintf("%v=%v(%v, gen %v)", c["type"], c["status"], c["reason"], c["observedGeneration"]))
				}
			}
			t.Logf("  %s %s gen %d deleting=%v: %s", side, list[i].GetName(), list[i].GetGeneration(), list[i].GetDeletionTimestamp() != nil, strings.Join(summary, " "))
		}
	}
}

// start starts one more connector process, on metrics and probe ports of its
// own; it is stopped when the test ends.
// drainTimeout bounds each wait of drainControlPlane.
const drainTimeout = 2 * time.Minute

// drainOnCleanup makes the end of the test, once its connectors have
// stopped, delete the control-plane namespace and wait until Crossplane has
// removed the composites and composed resources of its claims: after a test
// with many claims, the next test must not find Crossplane and provider-nop
// busy with this one's leftovers. Call it before starting a connector.
func (r *faultRig) drainOnCleanup(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		start := time.Now()
		if err := drainControlPlane(t, r.namespace); err != nil {
			t.Logf("the control plane still holds what the test's claims made: %v", err)
		}
		t.Logf("control plane drained in %s", time.Since(start).Round(time.Second))
	})
}

// drainControlPlane deletes the namespace and waits until it is gone,
// removes composites that Crossplane left behind for claims of that
// namespace, and waits until they and their composed resources are gone.
func drainControlPlane(t *testing.T, ns string) error {
	ctx := context.Background()
	if err := world.ControlPlane.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); client.IgnoreNotFound(err) != nil {
		return err
	}
	if err := harness.Poll(ctx, drainTimeout, func() error {
		err := world.ControlPlane.Client.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("namespace %s not gone yet (%v)", ns, err)
	}); err != nil {
		return err
	}
	ofNamespace := client.MatchingLabels{"crossplane.io/claim-namespace": ns}
	xrs := &unstructured.UnstructuredList{}
	xrs.SetGroupVersionKind(schema.GroupVersionKind{Group: harness.ExampleGroup, Version: harness.ExampleVersion, Kind: harness.ExampleXRKind + "List"})
	if err := world.ControlPlane.Client.List(ctx, xrs, ofNamespace); err != nil {
		return err
	}
	for i := range xrs.Items {
		// Crossplane v1.20 can leave the composite of a claim that was
		// deleted right after it was bound; not the connector's doing.
		t.Logf("Crossplane left composite %s of deleted claim %s; deleting it", xrs.Items[i].GetName(), xrs.Items[i].GetLabels()["crossplane.io/claim-name"])
		if err := world.ControlPlane.Client.Delete(ctx, &xrs.Items[i]); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	kinds := []schema.GroupVersionKind{xrs.GroupVersionKind()}
	if !world.ControlPlane.V2 { // Crossplane v2 composes ConfigMaps, garbage-collected with their XR
		kinds = append(kinds, schema.GroupVersionKind{Group: "nop.crossplane.io", Version: "v1alpha1", Kind: "ClusterNopResourceList"})
	}
	return harness.Poll(ctx, drainTimeout, func() error {
		for _, gvk := range kinds {
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(gvk)
			if err := world.ControlPlane.Client.List(ctx, list, ofNamespace); err != nil {
				return err
			}
			if n := len(list.Items); n > 0 {
				return fmt.Errorf("%d %s left", n, gvk.Kind)
			}
		}
		return nil
	})
}

func (r *faultRig) start(t *testing.T) *harness.Connector {
	t.Helper()
	return harness.StartTestConnector(t, r.dir, r.cfg)
}

func (r *faultRig) waitMirrored(t *testing.T) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		if err := harness.CRDEstablished(context.Background(), r.app.Client, harness.ExampleClaimCRDName); err != nil {
			return err
		}
		// Established is not yet served: wait until discovery maps the kind
		// for the test's client too.
		gvk := harness.ExampleClaimGVK()
		_, err := r.app.Client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
		return err
	})
}

func (r *faultRig) claim(name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(harness.ExampleClaimGVK())
	u.SetNamespace(r.claims)
	u.SetName(name)
	return u
}

func (r *faultRig) create(t *testing.T, name string, count int64) {
	t.Helper()
	create(t, r.app.Client, harness.NewExampleClaim(r.claims, name, count))
}

func (r *faultRig) setCount(t *testing.T, name string, count int64) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"nodes":{"count":%d}}}`, count)
	if err := r.app.Client.Patch(context.Background(), r.claim(name), client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatalf("update claim %s: %v", name, err)
	}
}

// delete deletes a local claim, recording first that a user asked for it.
func (r *faultRig) delete(t *testing.T, name string) {
	t.Helper()
	r.audit.userDeletes(name)
	if err := r.app.Client.Delete(context.Background(), r.claim(name)); err != nil {
		t.Fatalf("delete claim %s: %v", name, err)
	}
}

func (r *faultRig) waitLocal(t *testing.T, name string, check func(*unstructured.Unstructured) error) *unstructured.Unstructured {
	t.Helper()
	return harness.WaitForObject(t, r.app.Client, harness.ExampleClaimGVK(), client.ObjectKey{Namespace: r.claims, Name: name}, waitTimeout, check)
}

// remote returns the remote claim of the local claim name.
func (r *faultRig) remote(name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(harness.ExampleClaimGVK())
	key := client.ObjectKey{Namespace: r.namespace, Name: sync.RemoteName(r.clusterID, r.claims, name)}
	return u, world.ControlPlane.Client.Get(context.Background(), key, u)
}

// waitRemote waits until the remote claim of the local claim name passes
// check, and returns it.
func (r *faultRig) waitRemote(t *testing.T, name string, check func(*unstructured.Unstructured) error) *unstructured.Unstructured {
	t.Helper()
	var got *unstructured.Unstructured
	harness.Eventually(t, waitTimeout, func() error {
		u, err := r.remote(name)
		if err != nil {
			return err
		}
		got = u
		return check(u)
	})
	return got
}

func (r *faultRig) getLocal(name string) (*unstructured.Unstructured, error) {
	u := r.claim(name)
	return u, r.app.Client.Get(context.Background(), client.ObjectKeyFromObject(u), u)
}

// connectionStatus reads the status of the rig's Connection.
func (r *faultRig) connectionStatus() (map[string]any, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(connection.GVK)
	if err := r.app.Client.Get(context.Background(), client.ObjectKey{Name: r.namespace}, u); err != nil {
		return nil, err
	}
	status, _, _ := unstructured.NestedMap(u.Object, "status")
	return status, nil
}

// waitReachable waits until the Connection says the control plane is (or is
// not) reachable, and returns the time it gives as "since".
func (r *faultRig) waitReachable(t *testing.T, want bool) time.Time {
	t.Helper()
	var since time.Time
	harness.Eventually(t, waitTimeout, func() error {
		status, err := r.connectionStatus()
		if err != nil {
			return err
		}
		got, _, _ := unstructured.NestedBool(status, "controlPlane", "reachable")
		if got != want {
			return fmt.Errorf("Connection says reachable=%v, want %v (status %v)", got, want, status["controlPlane"])
		}
		s, _, _ := unstructured.NestedString(status, "controlPlane", "since")
		since, err = time.Parse(time.RFC3339, s)
		return err
	})
	return since
}

func (r *faultRig) listLocal() ([]unstructured.Unstructured, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(harness.ExampleClaimGVK().GroupVersion().WithKind(harness.ExampleClaimKind + "List"))
	err := r.app.Client.List(context.Background(), list, client.InNamespace(r.claims))
	return list.Items, err
}

func (r *faultRig) listRemote() ([]unstructured.Unstructured, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(harness.ExampleClaimGVK().GroupVersion().WithKind(harness.ExampleClaimKind + "List"))
	err := world.ControlPlane.Client.List(context.Background(), list, client.InNamespace(r.namespace))
	return list.Items, err
}

// remoteAudit watches the rig's control-plane namespace for the whole test
// and records every remote claim it sees and every deletion of one.
type remoteAudit struct {
	r  *faultRig
	mu gosync.Mutex
	// deletedByUser are the local claims the test deleted.
	deletedByUser map[string]bool
	// uids are the remote claims seen, by the local claim they came from.
	uids map[string]map[types.UID]bool
	// unwanted describes remote deletions of claims no user deleted.
	unwanted []string
}

func startRemoteAudit(t *testing.T, r *faultRig) *remoteAudit {
	t.Helper()
	a := &remoteAudit{r: r, deletedByUser: map[string]bool{}, uids: map[string]map[types.UID]bool{}}
	f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(world.ControlPlane.Dynamic, 0, r.namespace, nil)
	inf := f.ForResource(harness.ExampleClaimGVR()).Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { a.seen(o, false) },
		UpdateFunc: func(_, o any) { a.seen(o, false) },
		DeleteFunc: func(o any) {
			if tomb, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = tomb.Obj
			}
			a.seen(o, true)
		},
	}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	f.Start(stop)
	if !cache.WaitForCacheSync(stop, inf.HasSynced) {
		t.Fatal("the audit of remote claims did not sync")
	}
	return a
}

func (a *remoteAudit) userDeletes(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deletedByUser[name] = true
}

// seen records a remote claim; a deletion (started or done) of the remote of
// a claim that no user deleted is unwanted.
func (a *remoteAudit) seen(o any, gone bool) {
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return
	}
	origin, _ := conflict.OriginOf(u.GetLabels(), u.GetAnnotations())
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.uids[origin.Name] == nil {
		a.uids[origin.Name] = map[types.UID]bool{}
	}
	a.uids[origin.Name][u.GetUID()] = true
	if (gone || u.GetDeletionTimestamp() != nil) && !a.deletedByUser[origin.Name] {
		msg := fmt.Sprintf("remote claim %s (uid %s) of local claim %q", u.GetName(), u.GetUID(), origin.Name)
		if !slices.Contains(a.unwanted, msg) {
			a.unwanted = append(a.unwanted, msg)
		}
	}
}

// remoteUIDs is how many remote claims were ever seen for a local claim.
func (a *remoteAudit) remoteUIDs(name string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.uids[name])
}

func (a *remoteAudit) unwantedDeletions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.unwanted)
}

// faultReport counts, for a wanted final state, what differs in the two
// clusters. The first four must end at zero; pending only while converging.
type faultReport struct {
	// lost: wanted claims missing locally, or with no remote claim.
	lost []string
	// duplicates: extra remote claims of one local claim, remote claims
	// without our marks, or a local claim whose remote claim was replaced.
	duplicates []string
	// unwantedDeletions: remote claims deleted that no user deleted.
	unwantedDeletions []string
	// leakedFinalizers: deleted local claims still held by our finalizer.
	leakedFinalizers []string
	// pending: differences that are expected to go (a spec not yet pushed,
	// a remote claim of a deleted claim not yet gone, not yet Ready).
	pending []string
}

func (f faultReport) String() string {
	return fmt.Sprintf("lost %d %v, duplicates %d %v, unwanted deletions %d %v, leaked finalizers %d %v, pending %d %v",
		len(f.lost), f.lost, len(f.duplicates), f.duplicates, len(f.unwantedDeletions), f.unwantedDeletions,
		len(f.leakedFinalizers), f.leakedFinalizers, len(f.pending), head(f.pending, 5))
}

func head(s []string, n int) []string {
	if len(s) > n {
		return append(slices.Clone(s[:n]), "...")
	}
	return s
}

func (f faultReport) converged() error {
	if len(f.lost)+len(f.duplicates)+len(f.unwantedDeletions)+len(f.leakedFinalizers)+len(f.pending) > 0 {
		return fmt.Errorf("not converged: %s", f)
	}
	return nil
}

// inspect compares both clusters with want (local claim name → node count).
func (r *faultRig) inspect(want map[string]int64) (faultReport, error) {
	var f faultReport
	locals, err := r.listLocal()
	if err != nil {
		return f, err
	}
	remotes, err := r.listRemote()
	if err != nil {
		return f, err
	}
	f.unwantedDeletions = r.audit.unwantedDeletions()
	byOrigin := map[string][]*unstructured.Unstructured{}
	for i := range remotes {
		o, ok := conflict.OriginOf(remotes[i].GetLabels(), remotes[i].GetAnnotations())
		if !ok || o.ClusterID != r.clusterID || o.Namespace != r.claims {
			f.duplicates = append(f.duplicates, "unmarked remote "+remotes[i].GetName())
			continue
		}
		byOrigin[o.Name] = append(byOrigin[o.Name], &remotes[i])
	}
	seen := map[string]bool{}
	for i := range locals {
		l := &locals[i]
		seen[l.GetName()] = true
		_, wanted := want[l.GetName()]
		switch {
		case !wanted && l.GetDeletionTimestamp() != nil && controllerutil.ContainsFinalizer(l, conflict.Finalizer):
			f.leakedFinalizers = append(f.leakedFinalizers, l.GetName())
		case !wanted:
			f.pending = append(f.pending, "local "+l.GetName()+" not deleted yet")
		default:
			f.pending = append(f.pending, checkWanted(l, want[l.GetName()], byOrigin[l.GetName()])...)
		}
	}
	for name := range want {
		if !seen[name] {
			f.lost = append(f.lost, "local "+name)
		}
		switch n := len(byOrigin[name]); {
		case n == 0:
			f.lost = append(f.lost, "remote of "+name)
		case n > 1:
			f.duplicates = append(f.duplicates, fmt.Sprintf("%d remote claims of %s", n, name))
		}
		if n := r.audit.remoteUIDs(name); n > 1 {
			f.duplicates = append(f.duplicates, fmt.Sprintf("%d remote claims seen over time for %s", n, name))
		}
	}
	for name, rs := range byOrigin {
		if _, ok := want[name]; !ok {
			f.pending = append(f.pending, fmt.Sprintf("%d remote claims of deleted %s", len(rs), name))
		}
	}
	slices.Sort(f.pending)
	return f, nil
}

// checkWanted lists what keeps a wanted claim from being in its final state.
func checkWanted(l *unstructured.Unstructured, count int64, remotes []*unstructured.Unstructured) []string {
	var out []string
	if l.GetDeletionTimestamp() != nil {
		out = append(out, "wanted local "+l.GetName()+" is being deleted")
	}
	if !controllerutil.ContainsFinalizer(l, conflict.Finalizer) {
		out = append(out, "local "+l.GetName()+" has no finalizer")
	}
	if err := readyAndSynced(l); err != nil {
		out = append(out, fmt.Sprintf("local %s: %v", l.GetName(), err))
	}
	for _, rem := range remotes {
		if n, _, _ := unstructured.NestedInt64(rem.Object, "spec", "nodes", "count"); n != count {
			out = append(out, fmt.Sprintf("remote of %s has count %d, want %d", l.GetName(), n, count))
		}
	}
	return out
}

// converge waits until both clusters hold exactly want, then asserts that
// nothing was lost, duplicated, deleted unasked or left with a finalizer.
func (r *faultRig) converge(t *testing.T, want map[string]int64) {
	t.Helper()
	var last faultReport
	err := harness.Poll(context.Background(), convergeTimeout, func() error {
		f, err := r.inspect(want)
		if err != nil {
			return err
		}
		last = f
		return f.converged()
	})
	t.Logf("final state (%d claims wanted): %s", len(want), last)
	for what, n := range map[string]int{"claims lost": len(last.lost), "duplicate remote claims": len(last.duplicates),
		"unwanted remote deletions": len(last.unwantedDeletions), "leaked finalizers": len(last.leakedFinalizers)} {
		if n != 0 {
			t.Errorf("%s: %d, want 0", what, n)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

// waitMetric waits until the metric exists and check accepts its value.
func waitMetric(t *testing.T, c *harness.Connector, name string, check func(float64) error, match ...string) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		text, err := scrape(c)
		if err != nil {
			return err
		}
		v, ok := metricValue(text, name, match...)
		if !ok {
			return fmt.Errorf("no metric %s%v", name, match)
		}
		if err := check(v); err != nil {
			return fmt.Errorf("%s%v: %w", name, match, err)
		}
		return nil
	})
}

func equals(want float64) func(float64) error {
	return func(v float64) error {
		if v != want {
			return fmt.Errorf("is %v, want %v", v, want)
		}
		return nil
	}
}

func atLeast(want float64) func(float64) error {
	return func(v float64) error {
		if v < want {
			return fmt.Errorf("is %v, want at least %v", v, want)
		}
		return nil
	}
}

func unix(t time.Time) float64 { return float64(t.Unix()) }

// claimKind is the kind label of the example claim in the connector's metrics.
var claimKind = `kind="` + harness.ExampleClaimKind + "." + harness.ExampleGroup + `"`

// queueName is the workqueue label of the example claim's syncer.
var queueName = `name="claim-` + strings.ToLower(harness.ExampleClaimKind) + "." + harness.ExampleGroup + `"`

func unreachable(u *unstructured.Unstructured) error {
	return conditionReason(condition.Type, condition.ReasonUnreachable)(u)
}

// sawGeneration checks that our condition was written for the claim's
// current generation: the connector saw its latest spec change, or its
// deletion (which bumps the generation too).
func sawGeneration(u *unstructured.Unstructured) error {
	c, ok := harness.GetCondition(u, condition.Type)
	if !ok || c.ObservedGeneration != u.GetGeneration() {
		return fmt.Errorf("%s of %s is for generation %d (%s), the claim is at generation %d", condition.Type, u.GetName(), c.ObservedGeneration, c.Reason, u.GetGeneration())
	}
	return nil
}

// heldForDeletion checks a claim deleted while the control plane is away:
// the connector saw the deletion and holds it, with its finalizer, until
// it can delete the remote claim.
func heldForDeletion(u *unstructured.Unstructured) error {
	if u.GetDeletionTimestamp() == nil {
		return fmt.Errorf("%s is not being deleted", u.GetName())
	}
	return all(hasFinalizer, unreachable, sawGeneration)(u)
}

func hasFinalizer(u *unstructured.Unstructured) error {
	if !controllerutil.ContainsFinalizer(u, conflict.Finalizer) {
		return fmt.Errorf("%s has no finalizer %s", u.GetName(), conflict.Finalizer)
	}
	return nil
}

func all(checks ...func(*unstructured.Unstructured) error) func(*unstructured.Unstructured) error {
	return func(u *unstructured.Unstructured) error {
		for _, c := range checks {
			if err := c(u); err != nil {
				return err
			}
		}
		return nil
	}
}

// lastKnown checks a condition's status whatever generation it was observed
// for: a claim changed while the control plane is away keeps the status the
// control plane last reported for an older generation.
func lastKnown(typ, status string) func(*unstructured.Unstructured) error {
	return func(u *unstructured.Unstructured) error {
		if c, ok := harness.GetCondition(u, typ); !ok || c.Status != status {
			return fmt.Errorf("%s of %s is %+v, want status %s", typ, u.GetName(), c, status)
		}
		return nil
	}
}

func conditionIs(typ, status string) func(*unstructured.Unstructured) error {
	return func(u *unstructured.Unstructured) error { return harness.CheckCondition(u, typ, status) }
}

// partitionHold is how long a partition lasts at least once the connector
// has noticed it: long enough for the connector to retry several times.
const partitionHold = 5 * time.Second

// A network partition between the connector and the control plane, as a cut
// (connections reset at once) or a blackhole (packets vanish, nothing is
// closed). Claims are first synced over a slow link. During the partition the
// connector keeps running, keeps the last-known status, says why it is not in
// sync, accepts local creates, updates and deletes (a delete waits on its
// finalizer), does not hammer the control plane, and deletes nothing. After
// it, both clusters converge with nothing lost, duplicated or deleted unasked.
func TestPartition(t *testing.T) {
	for _, mode := range []harness.FaultMode{harness.FaultCut, harness.FaultBlackhole} {
		t.Run(mode.String(), func(t *testing.T) { testPartition(t, mode) })
	}
}

func testPartition(t *testing.T, mode harness.FaultMode) {
	// With a blackhole the stale period is short, to see the copied
	// conditions turn Unknown; with a cut it is the default, to see them kept.
	var args []string
	if mode == harness.FaultBlackhole {
		args = append(args, "--stale-period=3s")
	}
	r := newFaultRig(t, args...)
	c := syncOverSlowLink(t, r, "kept", "changed", "deleted")

	start, dialsBefore := time.Now(), r.proxy.Accepted()
	if mode == harness.FaultCut {
		r.proxy.Cut()
	} else {
		r.proxy.Blackhole()
	}
	since := r.waitReachable(t, false)
	waitMetric(t, c, "mcp_connector_control_plane_reachable", equals(0))
	waitMetric(t, c, "mcp_connector_control_plane_since_timestamp_seconds", atLeast(unix(start)))
	t.Logf("%s noticed after %s", mode, since.Sub(start).Round(time.Second))

	// Last-known status stays; our own condition says why. After the stale
	// period (3 s with the blackhole), the copied Ready turns Unknown.
	if mode == harness.FaultCut {
		r.waitLocal(t, "kept", all(unreachable, conditionIs("Ready", "True")))
	} else {
		r.waitLocal(t, "kept", unreachable)
		checkStale(t, r, "kept")
	}
	writeDuringOutage(t, r)

	// The partition lasts: that is the behaviour under test.
	time.Sleep(time.Until(since.Add(partitionHold)))
	if _, err := r.getLocal("deleted"); err != nil {
		t.Errorf("a claim deleted during the partition went before its remote claim: %v", err)
	}
	if exited, err := c.Exited(); exited {
		t.Fatalf("the connector exited during the partition: %v", err)
	}
	checkNoHammering(t, r.proxy.Accepted()-dialsBefore, time.Since(start))

	restored := time.Now()
	r.proxy.Restore()
	r.converge(t, map[string]int64{"kept": 1, "changed": 4, "created": 2})
	r.waitReachable(t, true)
	waitSecretIn(t, r.app.Client, r.claims, "created-kubeconfig")
	waitMetric(t, c, "mcp_connector_control_plane_reachable", equals(1))
	waitMetric(t, c, "mcp_connector_last_sync_timestamp_seconds", atLeast(unix(restored)), claimKind)
}

// syncOverSlowLink starts the connector behind a slow link (200 ms each
// way), syncs claims of count 1 until Ready, checks the metrics of a healthy
// connector, and makes the link fast again.
func syncOverSlowLink(t *testing.T, r *faultRig, names ...string) *harness.Connector {
	t.Helper()
	r.proxy.Slow(200 * time.Millisecond)
	c := r.start(t)
	r.waitMirrored(t)
	for _, name := range names {
		r.create(t, name, 1)
	}
	for _, name := range names {
		r.waitLocal(t, name, readyAndSynced)
		waitSecretIn(t, r.app.Client, r.claims, name+"-kubeconfig")
	}
	waitMetric(t, c, "mcp_connector_control_plane_reachable", equals(1))
	// The claims went through the kind's queue; it drained, and no
	// reconcile is left running (a stuck worker counts unfinished work).
	waitMetric(t, c, "workqueue_adds_total", atLeast(float64(len(names))), queueName)
	waitMetric(t, c, "workqueue_depth", equals(0), queueName)
	waitMetric(t, c, "workqueue_unfinished_work_seconds", equals(0), queueName)
	r.proxy.Restore()
	return c
}

// writeDuringOutage creates "created", changes "changed" and deletes
// "deleted", and checks that each write is accepted and held for later.
func writeDuringOutage(t *testing.T, r *faultRig) {
	t.Helper()
	r.create(t, "created", 2)
	r.setCount(t, "changed", 4)
	r.delete(t, "deleted")
	// Each claim already said Unreachable before the write: what shows that
	// the connector took the write in is our condition written for the
	// generation the write made (a delete bumps the generation too).
	r.waitLocal(t, "created", all(unreachable, hasFinalizer, sawGeneration))
	r.waitLocal(t, "changed", all(unreachable, sawGeneration))
	r.waitLocal(t, "deleted", heldForDeletion)
}

// checkNoHammering bounds the connections the connector opened during a
// partition. The probe and the half dozen watches each retry at most about
// once a second (client-go retries a GET on a reset connection every second,
// then its caller backs off), so a tight loop would show as hundreds.
func checkNoHammering(t *testing.T, dials int64, held time.Duration) {
	t.Helper()
	t.Logf("%d connections tried in %s of partition", dials, held.Round(time.Second))
	if limit := int64(held.Seconds()*10) + 10; dials > limit {
		t.Errorf("the connector opened %d connections in %s of partition, more than %d: it hammers the control plane", dials, held.Round(time.Second), limit)
	}
}

// staleTimeout bounds the wait for the copied conditions to turn Unknown
// once the stale period (3 s) has passed.
const staleTimeout = 20 * time.Second

// checkStale checks that the claim's copied Ready condition turns Unknown
// after the stale period; a failure is reported and the test goes on, so
// that the rest of the outage is still checked.
func checkStale(t *testing.T, r *faultRig, name string) {
	t.Helper()
	err := harness.Poll(context.Background(), staleTimeout, func() error {
		u, err := r.getLocal(name)
		if err != nil {
			return err
		}
		if err := harness.CheckCondition(u, "Ready", "Unknown"); err != nil {
			return err
		}
		return conditionReason("Ready", condition.ReasonUnreachable)(u)
	})
	if err != nil {
		t.Errorf("the last-known Ready did not turn Unknown after the stale period: %v", err)
	}
}

// waitSecretIn waits until a Secret with the example's password exists.
func waitSecretIn(t *testing.T, c client.Client, ns, name string) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		s := &corev1.Secret{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
			return err
		}
		if string(s.Data["password"]) != harness.ExamplePassword {
			return fmt.Errorf("secret %s/%s has password %q", ns, name, s.Data["password"])
		}
		return nil
	})
}

// The connector starts, and keeps running, when it cannot reach the control
// plane: on a new app cluster (nothing to mirror yet) and on one it served
// before, where local claims get their finalizer and condition at once.
func TestStartWhileControlPlaneUnreachable(t *testing.T) {
	r := newFaultRig(t)
	r.proxy.Cut()
	c := r.start(t)
	r.waitReachable(t, false)
	waitMetric(t, c, "mcp_connector_control_plane_reachable", equals(0))
	r.proxy.Restore()
	r.waitMirrored(t)
	r.create(t, "first", 1)
	r.waitLocal(t, "first", readyAndSynced)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}

	// Down, cut off, a claim created and one changed; then it starts again.
	r.proxy.Cut()
	r.create(t, "offline", 3)
	r.setCount(t, "first", 2)
	c = r.start(t)
	r.waitReachable(t, false)
	r.waitLocal(t, "offline", all(unreachable, hasFinalizer))
	r.waitLocal(t, "first", all(unreachable, lastKnown("Ready", "True")))
	if err := harness.Poll(context.Background(), 5*time.Second, func() error {
		resp, err := http.Get("http://" + c.Config.HealthAddr + "/healthz")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/healthz: %s", resp.Status)
		}
		return nil
	}); err != nil {
		t.Errorf("the connector is not healthy while the control plane is unreachable: %v", err)
	}

	r.proxy.Restore()
	r.converge(t, map[string]int64{"first": 2, "offline": 3})
	if exited, err := c.Exited(); exited {
		t.Fatalf("the connector exited: %v", err)
	}
}

// churnSize is how many claims the crash test creates; churnKills how many
// times it kills the connector meanwhile.
const (
	churnSize  = 30
	churnKills = 4
)

// kill -9 the connector at random points while claims are created, updated
// and deleted, and start it again each time: once it runs undisturbed, both
// clusters hold exactly the claims the user kept, with no duplicate, no lost
// claim, no leaked finalizer and no remote deletion no user asked for.
// MCP_E2E_SEED replays a run (its seed is logged). The kills are tied to
// the churn (after the n-th create, n drawn from the seed), not to the
// clock: a slow machine sees as many of them as a fast one.
func TestKillConnectorDuringChurn(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MCP_E2E_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("MCP_E2E_SEED: %v", err)
		}
	}
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	r := newFaultRig(t)
	r.drainOnCleanup(t)
	k := &killer{r: r, rng: rand.New(rand.NewPCG(seed, 1)), current: r.start(t)}
	r.waitMirrored(t)

	killAfter := map[int]bool{}
	for _, n := range k.rng.Perm(churnSize - 1)[:churnKills] {
		killAfter[n+1] = true
	}
	k.start()
	t.Cleanup(func() {
		k.stop()
		for _, c := range k.started {
			_ = c.Stop()
		}
		if t.Failed() {
			t.Logf("--- last lines of %s ---\n%s", k.current.LogPath(), k.current.Tail(40))
		}
	})
	want := churn(t, r, rng, func(created int) {
		if killAfter[created] {
			k.request()
		}
	})
	k.stop()
	if k.err != nil {
		t.Fatal(k.err)
	}
	t.Logf("killed the connector %d times during the churn; %d claims kept", k.kills, len(want))
	if k.kills != churnKills {
		t.Errorf("%d kills happened during the churn, want %d", k.kills, churnKills)
	}
	r.converge(t, want)
}

// churn creates churnSize claims, and updates and deletes some of them, in a
// random order, calling created after each create with the number made so
// far; it returns the claims that should remain, with their counts.
func churn(t *testing.T, r *faultRig, rng *rand.Rand, created func(int)) map[string]int64 {
	want := map[string]int64{}
	live := func() []string {
		names := make([]string, 0, len(want))
		for n := range want {
			names = append(names, n)
		}
		slices.Sort(names)
		return names
	}
	for n := 0; n < churnSize; {
		names := live()
		switch op := rng.IntN(6); {
		case op < 3 || len(names) == 0:
			name := fmt.Sprintf("claim-%02d", n)
			want[name] = int64(1 + rng.IntN(9))
			r.create(t, name, want[name])
			n++
			created(n)
		case op < 5:
			name := names[rng.IntN(len(names))]
			want[name] = int64(1 + rng.IntN(9))
			r.setCount(t, name, want[name])
		default:
			name := names[rng.IntN(len(names))]
			delete(want, name)
			r.delete(t, name)
		}
		// Pacing spreads the churn over the connector's work: the spread is
		// the behaviour under test, not a wait for a condition.
		time.Sleep(time.Duration(50+rng.IntN(150)) * time.Millisecond)
	}
	return want
}

// killer kills the connector with SIGKILL when asked, a random moment
// later, and starts it again at once; the last one started keeps running.
type killer struct {
	r       *faultRig
	rng     *rand.Rand
	current *harness.Connector
	started []*harness.Connector
	kills   int
	err     error

	requests chan struct{}
	done     chan struct{}
	once     gosync.Once
}

func (k *killer) start() {
	k.requests, k.done = make(chan struct{}, churnKills), make(chan struct{})
	go func() {
		defer close(k.done)
		k.run()
	}()
}

// request asks for one more kill; it does not wait for it.
func (k *killer) request() { k.requests <- struct{}{} }

// stop waits until every kill asked for is done and the last connector is
// started; it may be called twice.
func (k *killer) stop() {
	k.once.Do(func() { close(k.requests) })
	<-k.done
}

func (k *killer) run() {
	for range k.requests {
		if k.err != nil {
			continue
		}
		// The random delay is the behaviour under test: the kill lands at
		// an arbitrary point of the connector's work (start-up included).
		time.Sleep(time.Duration(k.rng.IntN(1000)) * time.Millisecond)
		if err := k.current.Kill(); err != nil {
			k.err = err
			continue
		}
		k.kills++
		p, err := harness.StartConnector(context.Background(), k.r.dir, k.current.Config.Args()...)
		if err != nil {
			k.err = err
			continue
		}
		k.current = &harness.Connector{Process: p, Config: k.current.Config}
		k.started = append(k.started, k.current)
	}
}
