package lifecycle

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/sync/condition"
)

// ConnectionStatus is one Connection with its claims counted per API.
type ConnectionStatus struct {
	ConnectionView
	// Claims counts the local claims of each API (same order as APIs) by
	// state (condition.ClaimStates); nil for an API without a local CRD to
	// count in (pending, refused) or whose claims could not be listed.
	Claims []map[string]int
}

// Status reads the Connections of the app cluster: the one whose name or
// control-plane namespace is controlPlaneNamespace, or all when it is "".
func Status(ctx context.Context, c Cluster, controlPlaneNamespace string) ([]ConnectionStatus, error) {
	_, app, err := c.client()
	if err != nil {
		return nil, err
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(connection.GVK.GroupVersion().WithKind("ConnectionList"))
	if err := app.List(ctx, list); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return nil, errors.New("no mcp-connector is installed in this cluster (no Connection resource); install one with `mcp-connector install`")
		}
		return nil, fmt.Errorf("list Connections: %w", err)
	}
	var out []ConnectionStatus
	for i := range list.Items {
		v := ViewConnection(&list.Items[i])
		if controlPlaneNamespace != "" && v.ControlPlaneNamespace != controlPlaneNamespace && v.Name != controlPlaneNamespace {
			continue
		}
		out = append(out, ConnectionStatus{ConnectionView: v, Claims: countClaims(ctx, app, v.APIs)})
	}
	if len(out) == 0 {
		if controlPlaneNamespace != "" {
			return nil, fmt.Errorf("no Connection for control-plane namespace %s in this cluster", controlPlaneNamespace)
		}
		return nil, errors.New("no Connection in this cluster; install the connector with `mcp-connector install`")
	}
	return out, nil
}

// countClaims counts the local claims of each API by state.
func countClaims(ctx context.Context, app client.Client, apis []connection.APIState) []map[string]int {
	out := make([]map[string]int, len(apis))
	for i, a := range apis {
		if a.Kind != "" && a.Version != "" && a.State != connection.StatePending && a.State != connection.StateRefused {
			out[i], _ = condition.CountClaims(ctx, app, a.GVK(), 500)
		}
	}
	return out
}
