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

// importOrphans brings back the claims that an uninstall of this cluster
// left in the control-plane namespace: it waits for the gate to open, then
// imports, retrying with backoff until one pass succeeded or ctx ends. A
// claim skipped because its namespace does not exist in this cluster is
// tried again each time a namespace is created here (importretry.go).
func (r *reconciler) importOrphans(ctx context.Context) {
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("gvk", r.gvk.String()))
	var created <-chan struct{}
	for {
		missing := r.importPass(ctx)
		if missing == 0 || ctx.Err() != nil {
			return
		}
		if created == nil {
			var stop func()
			if created, stop = r.namespacesCreated(ctx); created == nil {
				return
			}
			defer stop()
			continue // a namespace may have come between the pass and the watch
		}
		select {
		case <-ctx.Done():
			return
		case <-created:
		}
	}
}

// importPass imports until one pass over the remote claims succeeded, and
// returns how many claims it skipped because their namespace is missing.
func (r *reconciler) importPass(ctx context.Context) int {
	bo := backoff.NewExponentialBackOff()
	bo.MaxElapsedTime, bo.MaxInterval = 0, time.Minute
	gate := r.cl.Gate.Subscribe(ctx)
	for {
		for !r.cl.Gate.State().Open {
			select {
			case <-ctx.Done():
				return 0
			case <-gate:
			}
		}
		missing, err := r.importAll(ctx)
		if err == nil || ctx.Err() != nil {
			return missing
		}
		wait := bo.NextBackOff()
		log.FromContext(ctx).Info("Cannot import orphaned claims yet, retrying", "error", err.Error(), "retryIn", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(wait):
		}
	}
}

// importAll lists, live and page by page (the cache only holds claims that
// carry our label), the unlabelled remote claims of the kind and imports
// those that uninstall orphaned for this cluster. It returns how many it
// skipped because their namespace does not exist in this cluster.
func (r *reconciler) importAll(ctx context.Context) (int, error) {
	sel, err := labels.Parse("!" + conflict.LabelClusterID + "," + conflict.LabelClaimNamespace)
	if err != nil {
		return 0, fmt.Errorf("parse the selector of orphaned claims: %w", err)
	}
	missing := 0
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(r.gvk.GroupVersion().WithKind(r.gvk.Kind + "List"))
	for {
		if err := r.cl.Remote.GetAPIReader().List(ctx, list, client.InNamespace(r.cfg.Namespace),
			client.MatchingLabelsSelector{Selector: sel}, client.Limit(importPageSize), client.Continue(list.GetContinue())); err != nil {
			return 0, fmt.Errorf("list orphaned %s claims in the control plane: %w", r.gvk.Kind, err)
		}
		for i := range list.Items {
			remote := &list.Items[i]
			origin, ok := orphan.ImportCandidate(remote.GetLabels(), remote.GetAnnotations(), r.cfg.ClusterID)
			if !ok {
				continue
			}
			noNamespace, err := r.importOne(ctx, remote, origin)
			if err != nil {
				return 0, err
			}
			if noNamespace {
				missing++
			}
		}
		if list.GetContinue() == "" {
			return missing, nil
		}
	}
}

// importOne creates the local copy of one orphaned remote claim, and that
// is the import's only write here: the copy carries
// conflict.AnnotationImportedFrom with the remote claim's uid, and the
// remote claim stays as the uninstall left it. The copy's reconcile then
// finds that remote claim ours (conflict.ClassifyImport), pushes, which
// marks it this cluster's again, and finishes the import (finishImport).
// A crash at any step leaves either a remote claim still importable, or a
// copy that finishes on its next pass; the Secret name is on the remote
// claim until the copy holds it. A copy that cannot be created (namespace
// missing, name taken, schema refused) leaves the remote claim untouched and
// is reported in the log (there is no local object to put an Event on);
// noNamespace says the copy's namespace does not exist.
func (r *reconciler) importOne(ctx context.Context, remote *unstructured.Unstructured, origin conflict.Origin) (noNamespace bool, err error) {
	// The remote claim's update policy decides whether its revision pin was pushed (Manual).
	local := orphan.LocalCopy(remote, origin, r.fields(remote, remote), r.cfg.Metadata, r.gvk)
	if remote.GetName() != RemoteName(r.cfg.ClusterID, origin.Namespace, origin.Name) {
		// Named by another connector (a migration in place): keep its name.
		annotations := local.GetAnnotations()
		annotations[AnnotationRemoteName] = remote.GetName()
		local.SetAnnotations(annotations)
	}
	logger := log.FromContext(ctx).WithValues("claim", klog.KObj(local), "remote", remote.GetName())
	err = r.cl.localClient().Create(ctx, local)
	if apierrors.IsAlreadyExists(err) && r.importPending(ctx, local, remote) {
		logger.V(1).Info("Import of claim already started; its reconcile finishes it")
		return false, nil
	}
	if err != nil {
		if skip, why := importSkip(err); skip {
			logger.Info("Not importing orphaned claim: "+why, "error", err.Error())
			return apierrors.IsNotFound(err), nil
		}
		return false, fmt.Errorf("import claim %s: %w", klog.KObj(local), err)
	}
	logger.Info("Imported claim orphaned by an earlier uninstall")
	r.crash.at(CrashImportCreated)
	return false, nil
}

// importPending says whether the local claim of that name is the copy an
// earlier import created from this remote claim (a run that died before the
// copy finished). A failed read counts as no: the claim is skipped and
// reported as existing.
func (r *reconciler) importPending(ctx context.Context, local, remote *unstructured.Unstructured) bool {
	got := r.newLocal()
	if err := r.cl.Local.GetAPIReader().Get(ctx, client.ObjectKeyFromObject(local), got); err != nil {
		return false
	}
	return got.GetAnnotations()[conflict.AnnotationImportedFrom] == string(remote.GetUID())
}

// finishImport ends the import of a local copy once its push took the
// remote claim back: the uninstall's marks go from the remote claim (the
// Secret name they record is in the copy's spec by now), then the import
// annotation from the copy. Both writes are idempotent, so a crash between
// them is finished by the next pass. A claim that is no import copy is left
// alone.
func (r *reconciler) finishImport(ctx context.Context, local, remote *unstructured.Unstructured) error {
	if _, ok := local.GetAnnotations()[conflict.AnnotationImportedFrom]; !ok {
		return nil
	}
	r.crash.at(CrashImportPushed)
	if err := r.cl.remoteClient().Patch(ctx, remote, client.RawPatch(types.MergePatchType, orphan.ReleasePatch())); err != nil {
		return fmt.Errorf("remove the uninstall's marks from remote claim %s: %w", klog.KObj(remote), err)
	}
	r.crash.at(CrashImportReleased)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:null}}}`, conflict.AnnotationImportedFrom)
	if err := r.cl.localClient().Patch(ctx, local, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return fmt.Errorf("remove annotation %s from %s: %w", conflict.AnnotationImportedFrom, klog.KObj(local), err)
	}
	log.FromContext(ctx).Info("Import of claim finished", "remote", klog.KObj(remote))
	return nil
}

// importSkip says whether a failed create of a local copy is final for this
// pass (a retry would fail the same way), and why.
func importSkip(err error) (bool, string) {
	switch {
	case apierrors.IsAlreadyExists(err):
		return true, "a local claim of that name exists already (annotate it with " + conflict.AnnotationAdopt + "=true to take the remote claim over)"
	case apierrors.IsNotFound(err):
		return true, "its namespace does not exist in this cluster; the claim is imported as soon as the namespace is created"
	case apierrors.IsMethodNotSupported(err):
		return true, "the claim's CRD is being deleted in this cluster; the claim is imported once the API is mirrored again"
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsForbidden(err):
		return true, "this cluster refuses the copy"
	}
	return false, ""
}
