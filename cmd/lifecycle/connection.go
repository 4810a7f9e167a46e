package lifecycle

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
)

// ConnectionView is what a human needs from a Connection.
type ConnectionView struct {
	Name                  string
	ControlPlane          string
	ControlPlaneNamespace string
	ClusterID             string
	Summary               string
	Conditions            map[string]ConditionView
	APIs                  []connection.APIState
}

// ConditionView is one condition of a Connection.
type ConditionView struct {
	Status, Reason, Message string
}

// ViewConnection reads a Connection object.
func ViewConnection(u *unstructured.Unstructured) ConnectionView {
	v := ConnectionView{Name: u.GetName(), Conditions: map[string]ConditionView{}}
	v.ControlPlane, _, _ = unstructured.NestedString(u.Object, "spec", "controlPlane")
	v.ControlPlaneNamespace, _, _ = unstructured.NestedString(u.Object, "spec", "controlPlaneNamespace")
	v.ClusterID, _, _ = unstructured.NestedString(u.Object, "spec", "clusterID")
	v.Summary, _, _ = unstructured.NestedString(u.Object, "status", "summary")
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, raw := range conds {
		if m, ok := raw.(map[string]any); ok {
			t, _ := m["type"].(string)
			s, _ := m["status"].(string)
			r, _ := m["reason"].(string)
			msg, _ := m["message"].(string)
			v.Conditions[t] = ConditionView{Status: s, Reason: r, Message: msg}
		}
	}
	apis, _, _ := unstructured.NestedSlice(u.Object, "status", "apis")
	for _, raw := range apis {
		if m, ok := raw.(map[string]any); ok {
			v.APIs = append(v.APIs, apiStateOf(m))
		}
	}
	return v
}

// apiStateOf reads one entry of a Connection's status.apis.
func apiStateOf(m map[string]any) connection.APIState {
	a := connection.APIState{}
	a.Name, _ = m["name"].(string)
	a.Kind, _ = m["kind"].(string)
	a.Version, _ = m["version"].(string)
	a.XRD, _ = m["xrd"].(string)
	a.State, _ = m["state"].(string)
	a.Message, _ = m["message"].(string)
	return a
}

// IsTrue says whether the condition of that type is True.
func (v ConnectionView) IsTrue(typ string) bool { return v.Conditions[typ].Status == "True" }

// Mirrored returns the APIs in state Mirrored.
func (v ConnectionView) Mirrored() []connection.APIState {
	var out []connection.APIState
	for _, a := range v.APIs {
		if a.State == connection.StateMirrored {
			out = append(out, a)
		}
	}
	return out
}
