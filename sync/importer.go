package sync

import (
	"context"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync/orphan"
)

// importPageSize is how many remote claims one list call returns.
const importPageSize = 500

// importOrphans brings back, once per start of a kind's syncer, the claims
// that an uninstall of this cluster left in the control-plane namespace: it
// waits for the gate to open, then imports, retrying with backoff until one
// pass succeeded or ctx ends.
func (r *reconciler) importOrphans(ctx context.Context) {
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("gvk", r.gvk.String()))
	bo := backoff.NewExponentialBackOff()
	bo.MaxElapsedTime, bo.MaxInterval = 0, time.Minute
	gate := r.cl.Gate.Subscribe(ctx)
	for {
		for !r.cl.Gate.State().Open {
			select {
			case <-ctx.Done():
				return
			case <-gate:
			}
		}
		err := r.importAll(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		wait := bo.NextBackOff()
		log.FromContext(ctx).Info("Cannot import orphaned claims yet, retrying", "error", err.Error(), "retryIn", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// importAll lists, live and page by page (the cache only holds claims that
// carry our label), the unlabelled remote claims of the kind and imports
// those that uninstall orphaned for this cluster.
func (r *reconciler) importAll(ctx context.Context) error {
	sel, err := labels.Parse("!" + conflict.LabelClusterID + "," + conflict.LabelClaimNamespace)
	if err != nil {
		return fmt.Errorf("parse the selector of orphaned claims: %w", err)
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(r.gvk.GroupVersion().WithKind(r.gvk.Kind + "List"))
	for {
		if err := r.cl.Remote.GetAPIReader().List(ctx, list, client.InNamespace(r.cfg.Namespace),
			client.MatchingLabelsSelector{Selector: sel}, client.Limit(importPageSize), client.Continue(list.GetContinue())); err != nil {
			return fmt.Errorf("list orphaned %s claims in the control plane: %w", r.gvk.Kind, err)
		}
		for i := range list.Items {
			remote := &list.Items[i]
			origin, ok := orphan.ImportCandidate(remote.GetLabels(), remote.GetAnnotations(), r.cfg.ClusterID)
			if !ok {
				continue
			}
			if err := r.importOne(ctx, remote, origin); err != nil {
				return err
			}
		}
		if list.GetContinue() == "" {
			return nil
		}
	}
}

// importOne creates the local copy of one orphaned remote claim. A dry run
// first checks that it can be created (namespace there, name free, schema
// accepted), so that a claim that cannot come back is left untouched and
// reported in the log (there is no local object to put an Event on). Then
// the remote claim is marked ours again, before the copy exists, so that the
// first reconcile of the copy finds its remote claim ours, not foreign.
func (r *reconciler) importOne(ctx context.Context, remote *unstructured.Unstructured, origin conflict.Origin) error {
	// The remote claim's update policy decides whether its revision pin was pushed (Manual).
	local := orphan.LocalCopy(remote, origin, r.fields(remote, remote), r.cfg.Metadata, r.gvk)
	logger := log.FromContext(ctx).WithValues("claim", klog.KObj(local), "remote", remote.GetName())
	if err := r.cl.localClient().Create(ctx, local.DeepCopy(), client.DryRunAll); err != nil {
		if skip, why := importSkip(err); skip {
			logger.Info("Not importing orphaned claim: "+why, "error", err.Error())
			return nil
		}
		return fmt.Errorf("check import of claim %s: %w", klog.KObj(local), err)
	}
	if err := r.markRemote(ctx, remote, true); err != nil {
		return err
	}
	if err := r.cl.localClient().Create(ctx, local); err != nil {
		if rerr := r.markRemote(ctx, remote, false); rerr != nil {
			logger.Error(rerr, "Could not orphan the remote claim again after a failed import")
		}
		if skip, why := importSkip(err); skip {
			logger.Info("Not importing orphaned claim: "+why, "error", err.Error())
			return nil
		}
		return fmt.Errorf("import claim %s: %w", klog.KObj(local), err)
	}
	logger.Info("Imported claim orphaned by an earlier uninstall")
	return nil
}

// importSkip says whether a failed create of a local copy is final for this
// pass (a retry would fail the same way), and why.
func importSkip(err error) (bool, string) {
	switch {
	case apierrors.IsAlreadyExists(err):
		return true, "a local claim of that name exists already (annotate it with " + conflict.AnnotationAdopt + "=true to take the remote claim over)"
	case apierrors.IsNotFound(err):
		return true, "its namespace does not exist in this cluster; create it and restart the connector to import the claim"
	case apierrors.IsMethodNotSupported(err):
		return true, "the claim's CRD is being deleted in this cluster; the claim is imported once the API is mirrored again"
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsForbidden(err):
		return true, "this cluster refuses the copy"
	}
	return false, ""
}

// markRemote marks the remote claim as ours again (ours=true: label back,
// the uninstall's annotations gone) or orphaned by uninstall as it was
// (ours=false, undoing a failed import).
func (r *reconciler) markRemote(ctx context.Context, remote *unstructured.Unstructured, ours bool) error {
	patch, err := orphan.MarkPatch(r.cfg.ClusterID, remote.GetAnnotations()[orphan.AnnotationLocalSecretName], ours)
	if err != nil {
		return fmt.Errorf("mark remote claim %s: %w", remote.GetName(), err)
	}
	if err := r.cl.remoteClient().Patch(ctx, remote, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("mark remote claim %s: %w", remote.GetName(), err)
	}
	return nil
}
