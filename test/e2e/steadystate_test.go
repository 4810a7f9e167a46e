package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/mcp-connector/mcp-connector/sync/condition"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// writes counts the connector's write requests, less the renewals of the
// cluster-id Lease in the control plane (harness.Writes).
func writes(t *testing.T, c *harness.Connector) float64 {
	t.Helper()
	n, err := harness.Writes(c)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A connector at rest writes nothing: with every claim in sync, many resync
// passes (every claim reconciled again and again) make zero requests that
// change anything, in either cluster. The connector is the test's own, so
// that its reconcile and write counts are about these claims alone.
func TestResyncWritesNothing(t *testing.T) {
	r := newFaultRig(t, "--resync-period=3s")
	c := r.start(t)
	r.waitMirrored(t)
	var names []string
	for i := range 3 {
		names = append(names, fmt.Sprintf("rest-%d", i))
		r.create(t, names[i], int64(i+1))
	}
	for _, name := range names {
		r.waitLocal(t, name, readyAndSynced)
		waitSecretIn(t, r.app.Client, r.claims, name+"-kubeconfig")
	}
	// Settle: find a window of one resync pass over every claim with no write.
	var before float64
	harness.Eventually(t, 2*time.Minute, func() error {
		before = writes(t, c)
		if err := waitReconciles(t, c, len(names)); err != nil {
			return err
		}
		if w := writes(t, c); w != before {
			return fmt.Errorf("still writing: %v -> %v", before, w)
		}
		return nil
	})
	// Observe: three more resync passes over every claim, no write.
	for range 3 {
		if err := waitReconciles(t, c, len(names)); err != nil {
			t.Fatal(err)
		}
	}
	if w := writes(t, c); w != before {
		t.Errorf("the connector wrote at rest: %v write requests before, %v after", before, w)
	}
}

// waitReconciles waits until the claim controller of c has reconciled n
// more times (with a 3 s resync period, one pass over n claims). The count
// is over every claim c serves: c must be a connector of the test's own,
// not the shared one, whose count moves with other tests' claims.
func waitReconciles(t *testing.T, c *harness.Connector, n int) error {
	const series = `controller="claim-kubernetescluster.k8s.starter.org"`
	start := metric(t, c, "controller_runtime_reconcile_total", series)
	return wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return metric(t, c, "controller_runtime_reconcile_total", series) >= start+float64(n), nil
	})
}

// A new claim costs at most one request to the control plane (its create:
// no read that finds nothing) and two writes in the app cluster (the
// finalizer and one status write), and raises no Event. The claims are
// paused, so that Crossplane leaves them alone, and ask for no connection
// Secret: what is counted is the connector's cost of a new claim, by cluster
// and verb. The app cluster is the rig's own, so its API server's own counts
// (apiserver_request_total) are about these claims and the connector alone;
// in the control plane, shared, the connector's client counts are used, with
// probes off (a 1 h interval) and the cluster-id Lease's requests left out.
func TestNewClaimRequests(t *testing.T) {
	const n = 10
	r := newFaultRig(t, "--probe-interval=1h")
	c := r.start(t)
	r.waitMirrored(t)
	r.waitReachable(t, true)
	appBefore, cpBefore := appClaimRequests(t, r), cpRequests(t, c, r)
	names := r.createPausedClaims(t, "new", n)
	app, cp := appClaimRequests(t, r).sub(appBefore), cpRequests(t, c, r).sub(cpBefore)
	// A paused claim may still get one status write from Crossplane, which
	// the connector copies down: one more status write, allowed per claim
	// that shows a copied condition (read after the counts, so never short).
	copied := 0
	for _, name := range names {
		u, err := r.getLocal(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := harness.GetCondition(u, "Synced"); ok {
			copied++
		}
	}
	t.Logf("requests for %d new claims: app cluster %v, control plane %v; %d with a copied Crossplane condition", n, app, cp, copied)
	if got := cp.total(); got > n {
		t.Errorf("control plane: %v requests for %d new claims (%v), want at most 1 a claim", got, n, cp)
	}
	if got := cp["GET"]; got > 0 {
		t.Errorf("control plane: %v reads for %d new claims, want none (create first, read only on AlreadyExists)", got, n)
	}
	if got := app["POST events"] + app["PATCH events"]; got > 0 {
		t.Errorf("app cluster: %v Event writes for %d new claims, want none for routine success", got, n)
	}
	if got, want := app.writes(), float64(2*n+copied); got > want {
		t.Errorf("app cluster: %v writes to claims and Events for %d new claims (%v), want at most %v (a finalizer and one status write each, plus %d copies of Crossplane's)", got, n, app, want, copied)
	}
}

// verbCounts are request counts by verb (and, in the app cluster, resource).
type verbCounts map[string]float64

func (a verbCounts) sub(b verbCounts) verbCounts {
	out := verbCounts{}
	for k, v := range a {
		if d := v - b[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func (a verbCounts) total() float64 {
	var n float64
	for _, v := range a {
		n += v
	}
	return n
}

// writes sums every count but those of the test's own creates of claims.
func (a verbCounts) writes() float64 {
	var n float64
	for k, v := range a {
		if !strings.HasPrefix(k, "GET") && !strings.HasPrefix(k, "LIST") && !strings.HasPrefix(k, "WATCH") && k != "POST "+harness.ExampleClaimPlural {
			n += v
		}
	}
	return n
}

// appClaimRequests reads the rig's app API server's counts of requests on
// claims (and their status) and Events, by verb and resource.
func appClaimRequests(t *testing.T, r *faultRig) verbCounts {
	t.Helper()
	cs, err := kubernetes.NewForConfig(r.app.Config)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatalf("read the app API server's metrics: %v", err)
	}
	out := verbCounts{}
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		res, sub, verb := promLabel(line, "resource"), promLabel(line, "subresource"), promLabel(line, "verb")
		if res != harness.ExampleClaimPlural && res != "events" {
			continue
		}
		if sub != "" {
			res += "/" + sub
		}
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		out[verb+" "+res] += v
	}
	return out
}

// cpRequests reads the connector's requests to the control plane (through
// the rig's proxy) by HTTP method, less those for the cluster-id Lease.
func cpRequests(t *testing.T, c *harness.Connector, r *faultRig) verbCounts {
	t.Helper()
	host := `host="` + r.proxy.Addr() + `"`
	out := verbCounts{}
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		out[m] = metric(t, c, "rest_client_requests_total", `method="`+m+`"`, host)
	}
	out["GET"] -= metric(t, c, "mcp_connector_control_plane_lease_requests_total", `verb="get"`)
	out["POST"] -= metric(t, c, "mcp_connector_control_plane_lease_requests_total", `verb="create"`)
	out["PUT"] -= metric(t, c, "mcp_connector_control_plane_lease_requests_total", `verb="update"`)
	return out
}

// promLabel is the value of one label of a Prometheus text line.
func promLabel(line, name string) string {
	i := strings.Index(line, name+`="`)
	if i < 0 {
		return ""
	}
	rest := line[i+len(name)+2:]
	return rest[:strings.IndexByte(rest, '"')]
}

// createPausedClaims creates n new claims prefix-0, prefix-1, ... that
// Crossplane leaves alone (paused, no connection Secret), and waits until
// each is synced and its remote claim exists.
func (r *faultRig) createPausedClaims(t *testing.T, prefix string, n int) []string {
	t.Helper()
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("%s-%d", prefix, i))
		claim := harness.NewExampleClaim(r.claims, names[i], 1)
		unstructured.RemoveNestedField(claim.Object, "spec", "writeConnectionSecretToRef")
		claim.SetAnnotations(map[string]string{"crossplane.io/paused": "true"})
		create(t, r.app.Client, claim)
	}
	for _, name := range names {
		r.waitLocal(t, name, func(u *unstructured.Unstructured) error { return harness.CheckCondition(u, condition.Type, "True") })
		r.waitRemote(t, name, func(*unstructured.Unstructured) error { return nil })
	}
	return names
}
