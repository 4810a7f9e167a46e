package e2ev2

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// waitTimeout bounds every wait for the connector or Crossplane.
const waitTimeout = 60 * time.Second

// xrRig is an app cluster of the test's own, a fault proxy in front of the
// Crossplane v2 control plane, a control-plane namespace and the namespace
// of the local XRs. Connectors are started with start.
type xrRig struct {
	app       *harness.Env
	proxy     *harness.FaultProxy
	cfg       harness.ConnectorConfig
	namespace string // in the control plane
	clusterID string
	local     string // namespace of the local XRs
	dir       string
}

func newXRRig(t *testing.T, extraArgs ...string) *xrRig {
	t.Helper()
	ctx := context.Background()
	p := harness.StartProxiedApp(t, world.ControlPlane, "xr-app", "xr-")
	app := p.App
	r := &xrRig{app: app, proxy: p.Proxy, namespace: p.Namespace, clusterID: p.ClusterID, local: "apps", dir: p.Dir, cfg: p.Config}
	r.cfg.ExtraArgs = append([]string{"--probe-interval=1s", "--recreate-grace=1s"}, extraArgs...)
	if err := app.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.local}}); err != nil {
		t.Fatal(err)
	}
	return r
}

// start runs a connector until the test ends and waits until the XR API is
// served in the app cluster.
func (r *xrRig) start(t *testing.T) *harness.Connector {
	t.Helper()
	c := harness.StartTestConnector(t, r.dir, r.cfg)
	harness.Eventually(t, waitTimeout, func() error {
		if err := harness.CRDEstablished(context.Background(), r.app.Client, harness.V2XRDName); err != nil {
			return err
		}
		gvk := harness.V2XRGVK()
		_, err := r.app.Client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
		return err
	})
	return c
}

func (r *xrRig) xr(name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(harness.V2XRGVK())
	u.SetNamespace(r.local)
	u.SetName(name)
	return u
}

func (r *xrRig) remoteName(name string) string { return sync.RemoteName(r.clusterID, r.local, name) }

func (r *xrRig) remote(name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(harness.V2XRGVK())
	return u, world.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: r.namespace, Name: r.remoteName(name)}, u)
}

func (r *xrRig) waitRemote(t *testing.T, name string, check func(*unstructured.Unstructured) error) *unstructured.Unstructured {
	t.Helper()
	return harness.WaitForObject(t, world.ControlPlane.Client, harness.V2XRGVK(),
		client.ObjectKey{Namespace: r.namespace, Name: r.remoteName(name)}, waitTimeout, check)
}

func (r *xrRig) waitLocal(t *testing.T, name string, check func(*unstructured.Unstructured) error) *unstructured.Unstructured {
	t.Helper()
	return harness.WaitForObject(t, r.app.Client, harness.V2XRGVK(), client.ObjectKey{Namespace: r.local, Name: name}, waitTimeout, check)
}

// secretName is the local name of the copy of the Secret the example
// composition composes for the local XR name.
func (r *xrRig) secretName(name string) string {
	return sync.XRSecretName(harness.V2Group, harness.V2XRKind, name, harness.V2SecretName(r.remoteName(name)))
}

func (r *xrRig) waitAPI(t *testing.T, crd, state, msgPart string) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(connection.GVK)
		if err := r.app.Client.Get(context.Background(), client.ObjectKey{Name: r.namespace}, u); err != nil {
			return err
		}
		apis, _, _ := unstructured.NestedSlice(u.Object, "status", "apis")
		for _, raw := range apis {
			a, _ := raw.(map[string]any)
			if a["name"] != crd {
				continue
			}
			msg, _ := a["message"].(string)
			if a["state"] != state || !strings.Contains(msg, msgPart) {
				return fmt.Errorf("API %s is %v (%q), want %s with a message containing %q", crd, a["state"], msg, state, msgPart)
			}
			return nil
		}
		return fmt.Errorf("API %s not on the Connection: %v", crd, apis)
	})
}

// waitInSync waits until the Connection counts n claims in sync.
func (r *xrRig) waitInSync(t *testing.T, n int) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(connection.GVK)
		if err := r.app.Client.Get(context.Background(), client.ObjectKey{Name: r.namespace}, u); err != nil {
			return err
		}
		if got, _, _ := unstructured.NestedInt64(u.Object, "status", "claims", "inSync"); got != int64(n) {
			return fmt.Errorf("the Connection counts %d claims in sync, want %d", got, n)
		}
		return nil
	})
}

// syncedAndReady: Crossplane's Ready and Synced and our ControlPlaneSynced.
func syncedAndReady(u *unstructured.Unstructured) error {
	for _, typ := range []string{"Ready", "Synced", condition.Type} {
		if err := harness.CheckCondition(u, typ, "True"); err != nil {
			return err
		}
	}
	return nil
}

func reason(typ, want string) func(*unstructured.Unstructured) error {
	return func(u *unstructured.Unstructured) error {
		c, ok := harness.GetCondition(u, typ)
		if !ok || c.Reason != want {
			return fmt.Errorf("condition %s is %+v, want reason %s", typ, c, want)
		}
		return nil
	}
}

// writes counts the connector's write requests, less the renewals of the
// cluster-id Lease (harness.Writes, as test/e2e's steady-state test).
func writes(t *testing.T, c *harness.Connector) float64 {
	t.Helper()
	n, err := harness.Writes(c)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitReconciles waits until the XR syncer of c reconciled n more times.
func waitReconciles(t *testing.T, c *harness.Connector, n int) error {
	t.Helper()
	series := `controller="claim-database.` + harness.V2Group + `"`
	count := func() float64 {
		text, err := c.Scrape()
		if err != nil {
			return 0
		}
		v, _ := harness.MetricSum(text, "controller_runtime_reconcile_total", series)
		return v
	}
	start := count()
	return wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return count() >= start+float64(n), nil
	})
}
