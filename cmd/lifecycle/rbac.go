package lifecycle

import (
	"bytes"
	"context"
	"fmt"

	"sigs.k8s.io/yaml"
)

// RBAC prints the identity install mints, as YAML for administrators who
// provision the control plane by GitOps.
type RBAC struct {
	// ControlPlaneNamespace is the app cluster's namespace in the control plane.
	ControlPlaneNamespace string
	// ClaimGroups are claim API groups the Role grants, added to those of
	// the XRDs read with ControlPlaneKubeconfig, if given.
	ClaimGroups            []string
	ControlPlaneKubeconfig string
	Version                string
}

// YAML renders the identity's objects as one YAML stream. Unlike minted
// ones, they carry no owner references (an uninstall removes them only
// if they are not provisioned by GitOps: delete them from the repository).
func (r RBAC) YAML(ctx context.Context) ([]byte, error) {
	groups := r.ClaimGroups
	if r.ControlPlaneKubeconfig != "" {
		kc, _, err := selfContainedKubeconfig(r.ControlPlaneKubeconfig, "")
		if err != nil {
			return nil, err
		}
		cfg, err := kubeconfigConfig(kc, r.Version)
		if err != nil {
			return nil, err
		}
		cp, err := newClient(cfg)
		if err != nil {
			return nil, err
		}
		fromXRDs, err := xrdGroups(ctx, cp)
		if err != nil {
			return nil, err
		}
		groups = append(groups, fromXRDs...)
	}
	if len(ClaimGroups(groups)) == 0 {
		return nil, fmt.Errorf("no claim API group: give --claim-api-group, or --control-plane-kubeconfig to read them from the XRDs")
	}
	return identityYAML(r.ControlPlaneNamespace, ClaimGroups(groups))
}

func identityYAML(namespace string, groups []string) ([]byte, error) {
	var out bytes.Buffer
	for i, o := range IdentityObjects(namespace, groups) {
		u, err := toUnstructured(o)
		if err != nil {
			return nil, err
		}
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			return nil, fmt.Errorf("render %s %s: %w", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(b)
	}
	return out.Bytes(), nil
}
