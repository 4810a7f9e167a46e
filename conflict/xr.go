package conflict

import "slices"

// FieldCrossplane is the spec field under which Crossplane v2 keeps its own
// fields on a namespaced composite resource (XR): spec.crossplane.
const FieldCrossplane = "crossplane"

// FieldManagerXR is the field manager Crossplane v2's composite controller
// applies an XR's spec.crossplane.resourceRefs with (server-side apply); it
// writes the composition references by update, under the binary's name.
const FieldManagerXR = "apiextensions.crossplane.io/composite"

// ForXR returns the policy for one namespaced composite resource (Crossplane
// v2). An XR has no claim fields at the top of its spec: every top-level
// field is the user's, and Crossplane's fields live under spec.crossplane:
//
//   - resourceRefs is always the control plane's (never pushed: a stale or
//     empty list would make Crossplane lose track of composed resources);
//   - compositionRevisionRef is the control plane's under the Automatic
//     update policy, and the user's pin under Manual (the policy is the local
//     spec.crossplane.compositionUpdatePolicy, else the remote one, else
//     Automatic);
//   - compositionRef, compositionSelector, compositionRevisionSelector and
//     compositionUpdatePolicy are the user's when set locally; when
//     Crossplane chose them (it alone owns them remotely) they come down and
//     are not pushed back, like any value Crossplane writes (CrossplaneWrites).
//
// Crossplane's managers are those of p plus FieldManagerXR.
func (p FieldPolicy) ForXR(local, remote map[string]any) FieldPolicy {
	out := FieldPolicy{
		Crossplane:        slices.Clone(p.Crossplane),
		ControlPlanePaths: []Path{{FieldCrossplane, "resourceRefs"}},
	}
	if !slices.Contains(out.Crossplane, FieldManagerXR) {
		out.Crossplane = append(out.Crossplane, FieldManagerXR)
	}
	if xrUpdatePolicy(local, remote) != UpdateManual {
		out.ControlPlanePaths = append(out.ControlPlanePaths, Path{FieldCrossplane, fieldRevisionRef})
	}
	return out
}

func xrUpdatePolicy(local, remote map[string]any) string {
	for _, spec := range []map[string]any{local, remote} {
		if v, ok := Get(spec, Path{FieldCrossplane, fieldUpdatePolicy}); ok {
			if s, _ := v.(string); s != "" {
				return s
			}
		}
	}
	return ""
}

// ControlPlaneIn lists the ControlPlanePaths that the remote spec holds:
// they come down to the local object.
func (p FieldPolicy) ControlPlaneIn(remote map[string]any) []Path {
	var out []Path
	for _, q := range p.ControlPlanePaths {
		if _, ok := Get(remote, q); ok {
			out = append(out, q)
		}
	}
	return out
}
