package lifecycle

import (
	"context"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
)

// Step 2 of the uninstall: orphan the remote claims.

// orphanRemote lets go of every remote claim of this cluster in the
// control-plane namespace: the cluster-id label goes (no connector of this
// cluster touches it again, and deleting the local copy can never delete
// it), the orphaned annotation says "uninstalled" (install brings it back),
// and the origin annotations stay. The local Secret name is recorded, so
// that the claim comes back exactly as it was.
func (u *uninstallRun) orphanRemote(ctx context.Context) error {
	cp, err := u.controlPlane(ctx)
	if err != nil {
		return err
	}
	u.cp = cp
	kinds, err := u.mirroredKinds(ctx)
	if err != nil {
		return err
	}
	store := sync.PendingStore{Reader: u.app, Writer: u.app, Namespace: u.release.Namespace}
	pending, _, err := store.List(ctx)
	if err != nil {
		return err
	}
	cfg := sync.Config{ClusterID: u.settings.ClusterID, Namespace: u.settings.ControlPlaneNamespace}
	for _, k := range kinds {
		secrets, err := u.localSecretNames(ctx, k)
		if err != nil {
			return err
		}
		released := sync.PendingOf(pending, cfg, k.gvk)
		n, err := u.orphanKind(ctx, k, secrets, released)
		if err != nil {
			return fmt.Errorf("%w; the connector stays stopped: run uninstall again once this is fixed", err)
		}
		say(u.Out, "  %s: %d claim(s) orphaned in %s\n", k.crd, n, u.settings.ControlPlaneNamespace)
		// Every pending orphan of the kind is settled now: marked deleted,
		// or its remote claim was gone or replaced.
		for _, p := range released {
			if err := store.Remove(ctx, p.Key()); err != nil {
				return err
			}
		}
	}
	return nil
}

// controlPlane connects to the control plane with --control-plane-kubeconfig,
// else with the credentials the release uses.
func (u *uninstallRun) controlPlane(ctx context.Context) (client.Client, error) {
	var cfg *rest.Config
	var err error
	if u.ControlPlaneKubeconfig != "" {
		kc, _, rerr := selfContainedKubeconfig(u.ControlPlaneKubeconfig, u.settings.ControlPlaneName)
		if rerr != nil {
			return nil, rerr
		}
		cfg, err = kubeconfigConfig(kc, u.Cluster.Version)
	} else {
		cfg, err = u.settings.controlPlaneConfig(ctx, u.app, u.release.Namespace, u.Cluster.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("%w (pass --control-plane-kubeconfig)", err)
	}
	c, err := newClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to the control plane: %w", err)
	}
	return c, nil
}

// mirroredKinds lists the claim kinds this connection mirrored (claimKinds).
func (u *uninstallRun) mirroredKinds(ctx context.Context) ([]claimKind, error) {
	crds := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := u.app.List(ctx, crds, client.MatchingLabels{conflict.LabelManaged: "true", conflict.LabelConnection: u.settings.Connection}); err != nil {
		return nil, fmt.Errorf("list the mirrored CRDs: %w", err)
	}
	return claimKinds(crds.Items, u.settings.Connection), nil
}

// localSecretNames maps the remote name of each local claim of a kind to the
// name of its local connection Secret.
func (u *uninstallRun) localSecretNames(ctx context.Context, k claimKind) (map[string]string, error) {
	out := map[string]string{}
	err := eachPage(ctx, u.app, k.list(), nil, func(items []unstructured.Unstructured) error {
		addLocalSecretNames(out, u.settings.ClusterID, items)
		return nil
	})
	return out, err
}

// orphanKind orphans the remote claims of one kind (orphanPlan) and checks
// that none with our label is left. It returns how many it orphaned.
func (u *uninstallRun) orphanKind(ctx context.Context, k claimKind, secrets map[string]string, released []sync.PendingOrphan) (int, error) {
	ns := u.settings.ControlPlaneNamespace
	ours := []client.ListOption{client.InNamespace(ns), client.MatchingLabels{conflict.LabelClusterID: u.settings.ClusterID}}
	n := 0
	err := eachPage(ctx, u.cp, k.list(), ours, func(items []unstructured.Unstructured) error {
		plan, err := orphanPlan(items, secrets, released)
		if err != nil {
			return err
		}
		for _, s := range plan {
			c := &unstructured.Unstructured{}
			c.SetGroupVersionKind(k.gvk)
			c.SetNamespace(ns)
			c.SetName(s.Name)
			if err := u.cp.Patch(ctx, c, client.RawPatch(types.MergePatchType, []byte(s.Patch))); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("orphan claim %s/%s in the control plane: %w", ns, s.Name, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, u.noneMarked(ctx, k)
}

// noneMarked checks that no remote claim of a kind carries this cluster's
// label (confirmOrphaned): then deleting its local copies cannot delete it.
func (u *uninstallRun) noneMarked(ctx context.Context, k claimKind) error {
	ns := u.settings.ControlPlaneNamespace
	left, err := u.marked(ctx, k)
	if err != nil {
		return err
	}
	return confirmOrphaned(ns, left)
}

// marked lists (one of) the remote claims of a kind that still carry this
// cluster's label.
func (u *uninstallRun) marked(ctx context.Context, k claimKind) ([]string, error) {
	left := k.list()
	ns := u.settings.ControlPlaneNamespace
	if err := u.cp.List(ctx, left, client.InNamespace(ns), client.MatchingLabels{conflict.LabelClusterID: u.settings.ClusterID}, client.Limit(1)); err != nil {
		return nil, fmt.Errorf("check that no %s claim is left marked as this cluster's: %w", k.gvk.Kind, err)
	}
	return names(left.Items), nil
}

// eachPage lists objects page by page (500 at a time) and calls f for each
// page.
func eachPage(ctx context.Context, c client.Client, list *unstructured.UnstructuredList, opts []client.ListOption, f func([]unstructured.Unstructured) error) error {
	for {
		page := append(append([]client.ListOption{}, opts...), client.Limit(500), client.Continue(list.GetContinue()))
		if err := c.List(ctx, list, page...); err != nil {
			return fmt.Errorf("list %s: %w", list.GetKind(), err)
		}
		if err := f(list.Items); err != nil {
			return err
		}
		if list.GetContinue() == "" {
			return nil
		}
	}
}
