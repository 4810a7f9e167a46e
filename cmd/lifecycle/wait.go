package lifecycle

import (
	"context"
	"fmt"
	"io"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
)

// waitForAPIs waits until the Connection reports the control plane reachable
// and every claim API mirrored, printing each change of what it sees.
func waitForAPIs(ctx context.Context, out io.Writer, app client.Client, namespace, release, connection string, timeout time.Duration) error {
	say(out, "Waiting up to %s for the connector to mirror the control plane's APIs (Connection %s)\n", timeout, connection)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p := &progress{out: out}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		done, err := p.observe(ctx, app, namespace, release, connection)
		if done {
			return nil
		}
		if err != nil {
			p.show("read", "Cannot read the connector's state yet: "+err.Error())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the connector did not report the APIs mirrored within %s (last: %s); look at `mcp-connector status %s` and `kubectl -n %s logs deploy/%s`",
				timeout, p.last, connection, namespace, release)
		case <-tick.C:
		}
	}
}

// observe looks at the Deployment and the Connection once; done is true when
// the Connection is Ready with every API mirrored.
func (p *progress) observe(ctx context.Context, app client.Client, namespace, release, connName string) (bool, error) {
	d := &appsv1.Deployment{}
	if err := app.Get(ctx, client.ObjectKey{Namespace: namespace, Name: release}, d); err == nil {
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		p.show("deployment", fmt.Sprintf("Connector: %d/%d replicas ready", d.Status.ReadyReplicas, want))
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(connection.GVK)
	if err := app.Get(ctx, client.ObjectKey{Name: connName}, u); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			p.show("connection", "Connection "+connName+": not reported yet (the connector writes it once it runs and leads)")
			return false, nil
		}
		return false, err
	}
	v := ViewConnection(u)
	p.showConnection(v)
	if !v.IsTrue(connection.ConditionReady) || !apisSettled(v) {
		return false, nil
	}
	say(p.out, "Connected: %d APIs mirrored from %s into this cluster. See `mcp-connector status %s`.\n", len(v.Mirrored()), v.ControlPlane, v.ControlPlaneNamespace)
	if refused := len(v.APIs) - len(v.Mirrored()); refused > 0 {
		say(p.out, "Not mirrored: %d APIs (refused or withdrawn, each with its reason above); `mcp-connector status %s` lists them.\n", refused, v.ControlPlaneNamespace)
	}
	return true, nil
}

// apisSettled says whether install has nothing more to wait for: every API
// is mirrored, or refused or withdrawn for a reason that waiting does not
// change (a cluster-scoped XRD, a foreign CRD of that name), and at least one
// is mirrored or the Connection says all are.
func apisSettled(v ConnectionView) bool {
	if v.IsTrue(connection.ConditionMirrored) {
		return true
	}
	for _, a := range v.APIs {
		if a.State == connection.StatePending {
			return false
		}
	}
	return len(v.Mirrored()) > 0
}

// showConnection prints what changed in the Connection: reachability, why
// it does not sync yet, each API's state and the summary.
func (p *progress) showConnection(v ConnectionView) {
	reach := v.Conditions[connection.ConditionReachable]
	line := "Control plane " + v.ControlPlane + ": "
	if reach.Status == "True" {
		line += "reachable"
	} else {
		line += "not reachable yet (" + reach.Reason + ": " + reach.Message + ")"
	}
	p.show("reachable", line)
	if ready := v.Conditions[connection.ConditionReady]; ready.Status != "True" && ready.Reason != "" && reach.Status == "True" {
		p.show("ready", "Not syncing yet: "+ready.Message)
	}
	for _, a := range v.APIs {
		line := "API " + a.Name + ": " + a.State
		if a.Message != "" {
			line += " (" + a.Message + ")"
		}
		p.show("api/"+a.Name, line)
	}
	if v.Summary != "" {
		p.show("summary", "APIs: "+v.Summary)
	}
}
