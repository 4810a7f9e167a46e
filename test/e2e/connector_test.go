package e2e

import (
	"context"
	"fmt"
	gosync "sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// The shared connector: one per app cluster, as in production. Every test in
// this package that needs the connector between world.App and the control
// plane uses it, each in namespaces of its own.
const (
	sharedNamespace = "e2e-app-cluster"
	sharedClusterID = "e2e-cluster-1"
)

// waitTimeout bounds every wait for the connector or Crossplane.
const waitTimeout = 60 * time.Second

var shared struct {
	once gosync.Once
	conn *harness.Connector
	err  error
}

// sharedConnector starts the package's connector on first use (with a short
// resync period, so that resyncs happen during the tests) and waits until the
// example claim API is mirrored. It lives until the test binary exits.
func sharedConnector(t *testing.T) *harness.Connector {
	t.Helper()
	shared.once.Do(func() {
		cfg, err := harness.NewConnectorConfig(world.App, world.ControlPlane.Env, sharedNamespace, sharedClusterID)
		if err != nil {
			shared.err = err
			return
		}
		cfg.ExtraArgs = []string{"--resync-period=3s", "--recreate-grace=1s", "--probe-interval=1s", "--zap-log-level=debug"}
		p, err := harness.StartConnector(context.Background(), world.App.Dir, cfg.Args()...)
		shared.conn, shared.err = &harness.Connector{Process: p, Config: cfg}, err
	})
	if shared.err != nil {
		t.Fatalf("start the shared connector: %v", shared.err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- last lines of the connector log ---\n%s", shared.conn.Tail(60))
		}
	})
	waitMirrored(t, harness.ExampleClaimCRDName)
	return shared.conn
}

// waitMirrored waits until the app cluster serves the claim CRD.
func waitMirrored(t *testing.T, crdName string) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		ctx := context.Background()
		if err := harness.CRDEstablished(ctx, world.App.Client, crdName); err != nil {
			return err
		}
		// Established comes before discovery serves the kind: wait until the
		// test's client maps every served version too, or its first create
		// fails with "no matches for kind".
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := world.App.Client.Get(ctx, client.ObjectKey{Name: crdName}, crd); err != nil {
			return err
		}
		gk := schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind}
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			if _, err := world.App.Client.RESTMapper().RESTMapping(gk, v.Name); err != nil {
				return err
			}
		}
		return nil
	})
}

// remoteOf returns the remote claim of a local claim of the shared connector.
func remoteOf(ctx context.Context, local *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(local.GroupVersionKind())
	key := client.ObjectKey{Namespace: sharedNamespace, Name: sync.RemoteName(sharedClusterID, local.GetNamespace(), local.GetName())}
	return u, world.ControlPlane.Client.Get(ctx, key, u)
}

// waitRemote waits until the remote claim of local passes check.
func waitRemote(t *testing.T, local *unstructured.Unstructured, check func(*unstructured.Unstructured) error) *unstructured.Unstructured {
	t.Helper()
	var got *unstructured.Unstructured
	harness.Eventually(t, waitTimeout, func() error {
		r, err := remoteOf(context.Background(), local)
		if err != nil {
			return err
		}
		got = r
		return check(r)
	})
	return got
}

// waitRemoteGone waits until the remote claim of local no longer exists.
func waitRemoteGone(t *testing.T, local *unstructured.Unstructured) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		_, err := remoteOf(context.Background(), local)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("remote claim of %s/%s still exists", local.GetNamespace(), local.GetName())
	})
}

// waitLocal waits until the local claim passes check.
func waitLocal(t *testing.T, local *unstructured.Unstructured, check func(*unstructured.Unstructured) error) *unstructured.Unstructured {
	t.Helper()
	return harness.WaitForObject(t, world.App.Client, local.GroupVersionKind(), client.ObjectKeyFromObject(local), waitTimeout, check)
}

// waitLocalGone waits until an object is gone from the app cluster.
func waitLocalGone(t *testing.T, obj client.Object) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		err := world.App.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("%s still exists (finalizers %v)", obj.GetName(), obj.GetFinalizers())
	})
}

func create(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %s/%s: %v", obj.GetNamespace(), obj.GetName(), err)
	}
}

func readyAndSynced(u *unstructured.Unstructured) error {
	for _, typ := range []string{"Ready", "Synced", condition.Type} {
		if err := harness.CheckCondition(u, typ, "True"); err != nil {
			return err
		}
	}
	return nil
}

func conditionReason(typ, reason string) func(*unstructured.Unstructured) error {
	return func(u *unstructured.Unstructured) error {
		c, ok := harness.GetCondition(u, typ)
		if !ok {
			return fmt.Errorf("no condition %s yet", typ)
		}
		if c.Reason != reason {
			return fmt.Errorf("condition %s has reason %q (%s), want %q", typ, c.Reason, c.Message, reason)
		}
		return nil
	}
}

// events lists the Events recorded on an object of world.App.
func events(t *testing.T, obj client.Object) []corev1.Event {
	t.Helper()
	return eventsIn(t, world.App.Client, obj)
}

// eventsIn lists the Events recorded on an object of the cluster c reaches.
func eventsIn(t *testing.T, c client.Client, obj client.Object) []corev1.Event {
	t.Helper()
	list := &corev1.EventList{}
	if err := c.List(context.Background(), list, client.InNamespace(obj.GetNamespace())); err != nil {
		t.Fatalf("list events: %v", err)
	}
	var out []corev1.Event
	for _, e := range list.Items {
		if e.InvolvedObject.UID == obj.GetUID() {
			out = append(out, e)
		}
	}
	return out
}

// waitEvent waits until an Event of that reason is recorded on obj.
func waitEvent(t *testing.T, obj client.Object, reason string) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		for _, e := range events(t, obj) {
			if e.Reason == reason {
				return nil
			}
		}
		return fmt.Errorf("no %s event on %s yet", reason, obj.GetName())
	})
}

func hasOriginMarks(u *unstructured.Unstructured, ns, name string) error {
	o, ok := conflict.OriginOf(u.GetLabels(), u.GetAnnotations())
	if !ok || o.ClusterID != sharedClusterID || o.Namespace != ns || o.Name != name {
		return fmt.Errorf("remote claim %s has origin %+v (complete: %v), want %s/%s of %s", u.GetName(), o, ok, ns, name, sharedClusterID)
	}
	return nil
}
