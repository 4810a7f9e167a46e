package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	gosync "sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/sync/controlplane"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// A second app cluster pointed at a control-plane namespace that another app
// cluster holds is refused: its Connection says so, its claims say so, and
// nothing of it reaches the control plane.
func TestNamespaceHeldByOtherCluster(t *testing.T) {
	sharedConnector(t) // holds sharedNamespace for sharedClusterID
	ctx := context.Background()
	app2, err := harness.StartEnv(ctx, "app-2", harness.EnvOptions{})
	if err != nil {
		t.Fatalf("start a second app cluster: %v", err)
	}
	t.Cleanup(func() { _ = app2.Stop() })
	const otherID = "e2e-cluster-2"
	cfg, err := harness.NewConnectorConfig(app2, world.ControlPlane.Env, sharedNamespace, otherID)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ExtraArgs = []string{"--probe-interval=1s"}
	p, err := harness.StartConnector(ctx, t.TempDir(), cfg.Args()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- last lines of the second connector's log ---\n%s", p.Tail(40))
		}
		_ = p.Stop()
	})

	// The Connection of the second app cluster says why it does not sync.
	harness.Eventually(t, waitTimeout, func() error {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(connection.GVK)
		if err := app2.Client.Get(ctx, client.ObjectKey{Name: sharedNamespace}, u); err != nil {
			return err
		}
		c, ok := harness.GetCondition(u, connection.ConditionReady)
		if !ok || c.Status != "False" || c.Reason != condition.ReasonNamespaceHeld {
			return fmt.Errorf("Connection Ready is %+v, want False/%s", c, condition.ReasonNamespaceHeld)
		}
		if !strings.Contains(c.Message, sharedClusterID) {
			return fmt.Errorf("the message does not name the holder %q: %s", sharedClusterID, c.Message)
		}
		return nil
	})

	// The claim API is still mirrored (users see it), but a claim does not
	// go up: it says why.
	harness.Eventually(t, waitTimeout, func() error {
		return harness.CRDEstablished(ctx, app2.Client, harness.ExampleClaimCRDName)
	})
	ns := harness.NewNamespace(t, app2.Client)
	local := harness.NewExampleClaim(ns, "refused", 1)
	create(t, app2.Client, local)
	harness.WaitForObject(t, app2.Client, local.GroupVersionKind(), client.ObjectKeyFromObject(local), waitTimeout,
		conditionReason(condition.Type, condition.ReasonNamespaceHeld))
	remote := &unstructured.Unstructured{}
	remote.SetGroupVersionKind(local.GroupVersionKind())
	key := client.ObjectKey{Namespace: sharedNamespace, Name: sync.RemoteName(otherID, ns, local.GetName())}
	if err := world.ControlPlane.Client.Get(ctx, key, remote); !apierrors.IsNotFound(err) {
		t.Errorf("the refused cluster's claim reached the control plane (err %v)", err)
	}
	holder := &corev1.ConfigMap{}
	if err := world.ControlPlane.Client.Get(ctx, client.ObjectKey{Namespace: sharedNamespace, Name: controlplane.HolderName}, holder); err != nil {
		t.Fatal(err)
	}
	for _, v := range holder.Data {
		if v != sharedClusterID {
			t.Errorf("the holder record changed: %v", holder.Data)
		}
	}
	if !strings.Contains(p.Logs(), "held by app cluster") {
		t.Errorf("the second connector's log does not say the namespace is held")
	}
}

// Rule 6: a local writer and a control-plane writer race on the same claim.
// The app cluster wins, deterministically: once both stop, the remote spec
// equals the local one, the claim is in sync, and the connector made a
// bounded number of writes (at most one push per change it saw, plus the
// create), then none. The connector is the test's own, so that its push and
// reconcile counts are about this claim alone.
func TestConcurrentWritersSettle(t *testing.T) {
	ctx := context.Background()
	r := newFaultRig(t, "--resync-period=3s")
	c := r.start(t)
	r.waitMirrored(t)
	r.create(t, "race", 1)
	r.waitLocal(t, "race", readyAndSynced)
	remote := r.waitRemote(t, "race", hasResourceRef)
	pushesBefore := metric(t, c, "mcp_connector_remote_claim_writes_total")

	const rounds = 15
	var wg gosync.WaitGroup
	var localWrites, remoteWrites int
	wg.Add(2)
	go func() { // the user, in the app cluster
		defer wg.Done()
		for i := range rounds {
			patch := fmt.Sprintf(`{"spec":{"nodes":{"count":%d}}}`, 10+i)
			if err := r.app.Client.Patch(ctx, r.claim("race"), client.RawPatch(types.MergePatchType, []byte(patch))); err == nil {
				localWrites++
			}
		}
	}()
	go func() { // someone else, in the control plane
		defer wg.Done()
		for i := range rounds {
			patch := fmt.Sprintf(`{"spec":{"nodes":{"count":%d,"size":"large"}}}`, 100+i)
			if err := world.ControlPlane.Client.Patch(ctx, remote.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(patch)),
				client.FieldOwner("someone-else")); err == nil {
				remoteWrites++
			}
		}
	}()
	wg.Wait()
	if localWrites == 0 || remoteWrites == 0 {
		t.Fatalf("the writers did not race: %d local and %d remote writes", localWrites, remoteWrites)
	}
	want := int64(10 + rounds - 1)
	r.waitRemote(t, "race", func(u *unstructured.Unstructured) error {
		n, _, _ := unstructured.NestedInt64(u.Object, "spec", "nodes", "count")
		size, _, _ := unstructured.NestedString(u.Object, "spec", "nodes", "size")
		if n != want || size != "small" {
			return fmt.Errorf("remote spec is count %d size %q, want the local count %d size small", n, size, want)
		}
		return nil
	})
	local := r.waitLocal(t, "race", func(u *unstructured.Unstructured) error {
		if err := readyAndSynced(u); err != nil {
			return err
		}
		if n, _, _ := unstructured.NestedInt64(u.Object, "spec", "nodes", "count"); n != want {
			return fmt.Errorf("the local spec changed: count %d, want %d", n, want)
		}
		return nil
	})

	// Stable: once a reconcile of the claim pushes nothing (one more push,
	// from a cache that had not yet seen the last, may come first), the next
	// resync passes push nothing more. A ping-pong never settles.
	var settled float64
	harness.Eventually(t, time.Minute, func() error {
		settled = metric(t, c, "mcp_connector_remote_claim_writes_total")
		if err := waitReconciles(t, c, 1); err != nil {
			return err
		}
		if w := metric(t, c, "mcp_connector_remote_claim_writes_total"); w != settled {
			return fmt.Errorf("still pushing: %v -> %v", settled, w)
		}
		return nil
	})
	pushes := settled - pushesBefore
	if max := float64(localWrites + remoteWrites + 1); pushes > max {
		t.Errorf("%v pushes for %d local and %d remote writes: more than one a change", pushes, localWrites, remoteWrites)
	}
	for range 2 {
		if err := waitReconciles(t, c, 1); err != nil {
			t.Fatal(err)
		}
	}
	if after := metric(t, c, "mcp_connector_remote_claim_writes_total"); after != settled {
		t.Errorf("the connector kept pushing after the writers stopped: %v -> %v", settled, after)
	}
	// No error reached the claim. (These merge patches and the connector's
	// server-side applies carry no resourceVersion: they cannot answer 409.
	// TestLostRacesRetriedQuietly makes 409s.)
	for _, e := range eventsIn(t, r.app.Client, local) {
		if e.Type == corev1.EventTypeWarning && e.Reason != "SpecReverted" {
			t.Errorf("unexpected Warning Event during the race: %s: %s", e.Reason, e.Message)
		}
	}
	t.Logf("%d local and %d remote writes raced; the connector pushed %v times", localWrites, remoteWrites, pushes)
}

// Rule 7: a connector write that loses a race (HTTP 409: the write carried
// the resourceVersion the connector read, and someone wrote in between) is
// retried quietly. Another writer keeps overwriting the connection Secret the
// connector copied into the app cluster; the connector puts it back with an
// Update of the copy in its cache, which carries its resourceVersion, so
// some Updates lose. The writer goes on until the connector's own metrics
// count 409s from the app cluster (the connector is the test's own: nothing
// else makes them). Then the Secret is restored, the claim is in sync, and
// no Warning Event and no log line came of the lost races.
func TestLostRacesRetriedQuietly(t *testing.T) {
	ctx := context.Background()
	r := newFaultRig(t)
	c := r.start(t)
	r.waitMirrored(t)
	r.create(t, "race", 1)
	r.waitLocal(t, "race", readyAndSynced)
	const secretName = "race-kubeconfig"
	waitSecretIn(t, r.app.Client, r.claims, secretName)

	appHost, err := url.Parse(r.app.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	lostRaces := func() float64 {
		return metric(t, c, "rest_client_requests_total", `code="409"`, `host="`+appHost.Host+`"`)
	}
	before := lostRaces()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: r.claims, Name: secretName}}
	writes := 0
	if err := harness.Poll(ctx, 2*time.Minute, func() error {
		for range 20 {
			writes++
			patch := fmt.Sprintf(`{"data":{"password":%q}}`, base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("overwritten-%d", writes))))
			if err := r.app.Client.Patch(ctx, secret.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
				return fmt.Errorf("overwrite the Secret: %w", err)
			}
		}
		if lostRaces() == before {
			return fmt.Errorf("no 409 answered to the connector after %d overwrites", writes)
		}
		return nil
	}); err != nil {
		t.Fatalf("the other writer never made a connector write lose a race: %v", err)
	}
	lost := lostRaces() - before
	t.Logf("%d overwrites of the Secret; the connector lost %v races (409)", writes, lost)

	waitSecretIn(t, r.app.Client, r.claims, secretName)
	local := r.waitLocal(t, "race", readyAndSynced)
	for _, e := range eventsIn(t, r.app.Client, local) {
		if e.Type == corev1.EventTypeWarning {
			t.Errorf("a lost race reached the claim as a Warning Event: %s: %s", e.Reason, e.Message)
		}
	}
	for _, line := range strings.Split(c.Logs(), "\n") {
		if strings.Contains(line, "the object has been modified") { // the message of a 409
			t.Errorf("a lost race was logged: %s", line)
		}
	}
}

// Rule 3, opt-in: a claim annotated for adoption takes over a remote claim
// of its mapped name that carries no marks (a migration), keeps the
// composite Crossplane bound to it, and from then on syncs as its own.
func TestAdoptionIsOptIn(t *testing.T) {
	sharedConnector(t)
	ctx := context.Background()
	ns := harness.NewNamespace(t, world.App.Client)
	local := harness.NewExampleClaim(ns, "migrated", 2)
	existing := harness.NewExampleClaim(sharedNamespace, sync.RemoteName(sharedClusterID, ns, "migrated"), 5)
	unstructured.RemoveNestedField(existing.Object, "spec", "writeConnectionSecretToRef")
	create(t, world.ControlPlane.Client, existing)
	t.Cleanup(func() { _ = world.ControlPlane.Client.Delete(context.Background(), existing) })
	bound := waitRemote(t, local, hasResourceRef)
	ref, _, _ := unstructured.NestedMap(bound.Object, "spec", "resourceRef")

	create(t, world.App.Client, local)
	waitLocal(t, local, conditionReason(condition.Type, "ForeignObject"))

	if err := world.App.Client.Patch(ctx, local.DeepCopy(), client.RawPatch("application/merge-patch+json",
		[]byte(`{"metadata":{"annotations":{"mcp-connector.io/adopt":"true"}}}`))); err != nil {
		t.Fatalf("annotate for adoption: %v", err)
	}
	waitLocal(t, local, readyAndSynced)
	waitEvent(t, local, "Adopted")
	r := waitRemote(t, local, func(r *unstructured.Unstructured) error {
		if n, _, _ := unstructured.NestedInt64(r.Object, "spec", "nodes", "count"); n != 2 {
			return fmt.Errorf("remote count is %d, want the local 2", n)
		}
		return hasOriginMarks(r, ns, "migrated")
	})
	if got, _, _ := unstructured.NestedMap(r.Object, "spec", "resourceRef"); got["name"] != ref["name"] {
		t.Errorf("adoption changed the composite: resourceRef %v, was %v", got, ref)
	}
	if r.GetUID() != bound.GetUID() {
		t.Errorf("the remote claim was replaced, not adopted: uid %s, was %s", r.GetUID(), bound.GetUID())
	}
}

// Rule 4, deliberate takeover: --takeover-namespace moves a held
// control-plane namespace to another app cluster, and the former holder stops
// syncing into it.
func TestTakeoverNamespace(t *testing.T) {
	ctx := context.Background()
	cpNamespace := "e2e-takeover"
	start := func(name, id string, extra ...string) (*harness.Env, *harness.Process) {
		env, err := harness.StartEnv(ctx, name, harness.EnvOptions{})
		if err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		t.Cleanup(func() { _ = env.Stop() })
		cfg, err := harness.NewConnectorConfig(env, world.ControlPlane.Env, cpNamespace, id)
		if err != nil {
			t.Fatal(err)
		}
		cfg.ExtraArgs = append([]string{"--probe-interval=1s"}, extra...)
		p, err := harness.StartConnector(ctx, t.TempDir(), cfg.Args()...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("--- last lines of %s's connector ---\n%s", name, p.Tail(30))
			}
			_ = p.Stop()
		})
		return env, p
	}
	connectionReady := func(env *harness.Env, status, reason string) {
		t.Helper()
		harness.Eventually(t, waitTimeout, func() error {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(connection.GVK)
			if err := env.Client.Get(ctx, client.ObjectKey{Name: cpNamespace}, u); err != nil {
				return err
			}
			if c, ok := harness.GetCondition(u, connection.ConditionReady); !ok || c.Status != status || c.Reason != reason {
				return fmt.Errorf("Connection Ready is %+v, want %s/%s", c, status, reason)
			}
			return nil
		})
	}
	holder := func() string {
		cm := &corev1.ConfigMap{}
		if err := world.ControlPlane.Client.Get(ctx, client.ObjectKey{Namespace: cpNamespace, Name: controlplane.HolderName}, cm); err != nil {
			return err.Error()
		}
		for _, v := range cm.Data {
			return v
		}
		return ""
	}

	first, _ := start("app-first", "first")
	connectionReady(first, "True", "Ready")
	if h := holder(); h != "first" {
		t.Fatalf("holder is %q, want first", h)
	}
	second, _ := start("app-second", "second", "--takeover-namespace")
	connectionReady(second, "True", "Ready")
	connectionReady(first, "False", condition.ReasonNamespaceHeld)
	if h := holder(); h != "second" {
		t.Errorf("holder is %q after the takeover, want second", h)
	}
}
