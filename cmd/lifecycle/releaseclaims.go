package lifecycle

import (
	"context"
	"fmt"
	"io"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
)

// ReleaseClaims lets go of local claims stuck deleting because their
// control plane does not answer (and may never again): each one is recorded
// as a pending orphan in the connector's namespace, then loses our
// finalizer and goes. Nothing is written to the control plane; the remote
// claim stays there untouched, and a connector that reaches the control
// plane again marks it orphaned. Without Yes it only says what it would do.
type ReleaseClaims struct {
	Cluster Cluster
	// ControlPlaneNamespace says which connection's claims.
	ControlPlaneNamespace string
	Filter                ClaimFilter
	// Yes acts; without it nothing is changed.
	Yes bool
	// ClusterIDOf derives the cluster's id when the release sets none, as
	// the connector does.
	ClusterIDOf func(context.Context, *rest.Config) (string, error)
	// Out receives the progress lines of finding the release.
	Out io.Writer
}

// ReleaseResult is what a release found and did.
type ReleaseResult struct {
	// LeftBehind says, per stuck claim, what releasing it leaves behind.
	LeftBehind []string
	// Released names the claims released (with Yes).
	Released []string
	// Record is the ConfigMap holding the pending orphans (namespace/name).
	Record string
}

// Run finds the stuck claims and what releasing each leaves behind, and with
// Yes releases them one by one.
func (rc *ReleaseClaims) Run(ctx context.Context) (ReleaseResult, error) {
	var res ReleaseResult
	u, err := (&Uninstall{Cluster: rc.Cluster, ControlPlaneNamespace: rc.ControlPlaneNamespace, ClusterIDOf: rc.ClusterIDOf, Out: rc.Out}).start(ctx)
	if err != nil {
		return res, err
	}
	stuck, err := rc.findStuck(ctx, u)
	if err != nil {
		return res, err
	}
	cpNS := u.settings.ControlPlaneNamespace
	res.Record = u.release.Namespace + "/" + sync.PendingOrphansConfigMap
	for _, s := range stuck {
		res.LeftBehind = append(res.LeftBehind, s.leftBehind(cpNS))
	}
	if !rc.Yes {
		return res, nil
	}
	store := sync.PendingStore{Reader: u.app, Writer: u.app, Namespace: u.release.Namespace}
	cfg := sync.Config{ClusterID: u.settings.ClusterID, Namespace: cpNS}
	for _, s := range stuck {
		if err := releaseOne(ctx, u.app, store, cfg, s); err != nil {
			return res, err
		}
		res.Released = append(res.Released, s.gvk.Kind+" "+s.local.GetNamespace()+"/"+s.local.GetName())
	}
	return res, nil
}

// findStuck lists, per mirrored kind, the local claims stuck deleting.
func (rc *ReleaseClaims) findStuck(ctx context.Context, u *uninstallRun) ([]stuckClaim, error) {
	kinds, err := u.mirroredKinds(ctx)
	if err != nil {
		return nil, err
	}
	var out []stuckClaim
	for _, k := range kinds {
		var opts []client.ListOption
		if rc.Filter.Namespace != "" {
			opts = append(opts, client.InNamespace(rc.Filter.Namespace))
		}
		err := eachPage(ctx, u.app, k.list(), opts, func(items []unstructured.Unstructured) error {
			for _, s := range stuckClaims(k.gvk, items, u.settings.ClusterID, rc.Filter) {
				s.local = s.local.DeepCopy() // the page is reused
				out = append(out, s)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// releaseOne releases one claim, in the order that is safe whatever a
// running connector does meanwhile: the claim is annotated deletion-policy
// Orphan first (a connector that reaches the control plane now orphans the
// remote claim instead of deleting it), then recorded as a pending orphan,
// and only then loses our finalizer.
func releaseOne(ctx context.Context, app client.Client, store sync.PendingStore, cfg sync.Config, s stuckClaim) error {
	key := client.ObjectKeyFromObject(s.local)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, conflict.AnnotationDeletionPolicy, conflict.DeletionPolicyOrphan)
	if err := app.Patch(ctx, s.local, client.RawPatch(types.MergePatchType, []byte(patch))); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("annotate claim %s with %s=%s: %w", key, conflict.AnnotationDeletionPolicy, conflict.DeletionPolicyOrphan, err)
	}
	p := sync.NewPendingOrphan(cfg, s.gvk, s.local.GetNamespace(), s.local.GetName(), s.local.GetUID(), time.Now(), "released with mcp-connector release")
	p.Name = sync.RemoteNameOf(cfg.ClusterID, s.local) // a migrated claim keeps the name it was found under
	if err := store.Add(ctx, p); err != nil {
		return err
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		c := &unstructured.Unstructured{}
		c.SetGroupVersionKind(s.gvk)
		if err := app.Get(ctx, key, c); err != nil {
			return client.IgnoreNotFound(err)
		}
		if c.GetUID() != s.local.GetUID() || !controllerutil.RemoveFinalizer(c, conflict.Finalizer) {
			return nil
		}
		if err := app.Update(ctx, c); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("remove finalizer %s from claim %s: %w", conflict.Finalizer, key, err)
		}
		return nil
	})
}
