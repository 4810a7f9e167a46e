package harness

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Condition is one entry of status.conditions, as Crossplane and Kubernetes
// write them.
type Condition struct {
	Type, Status, Reason, Message string
	// ObservedGeneration is 0 when the writer does not set it.
	ObservedGeneration int64
}

// GetCondition returns the condition of type typ of u, if any.
func GetCondition(u *unstructured.Unstructured, typ string) (Condition, bool) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != typ {
			continue
		}
		cond := Condition{Type: typ}
		cond.Status, _ = m["status"].(string)
		cond.Reason, _ = m["reason"].(string)
		cond.Message, _ = m["message"].(string)
		cond.ObservedGeneration, _, _ = unstructured.NestedInt64(m, "observedGeneration")
		return cond, true
	}
	return Condition{}, false
}

// CheckCondition returns nil if u has condition typ with the given status,
// computed for u's current generation (a condition that says which
// generation it saw must have seen this one). The error describes what is
// there instead.
func CheckCondition(u *unstructured.Unstructured, typ, status string) error {
	c, ok := GetCondition(u, typ)
	switch {
	case !ok:
		return fmt.Errorf("%s %s/%s has no %s condition yet", u.GetKind(), u.GetNamespace(), u.GetName(), typ)
	case c.Status != status:
		return fmt.Errorf("%s %s/%s: %s=%s (reason %q, message %q), want %s",
			u.GetKind(), u.GetNamespace(), u.GetName(), typ, c.Status, c.Reason, c.Message, status)
	case c.ObservedGeneration != 0 && c.ObservedGeneration < u.GetGeneration():
		return fmt.Errorf("%s %s/%s: %s=%s is for generation %d, object is at %d",
			u.GetKind(), u.GetNamespace(), u.GetName(), typ, c.Status, c.ObservedGeneration, u.GetGeneration())
	}
	return nil
}
