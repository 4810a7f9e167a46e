package sync

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/sync/controlplane"
)

// pendingRetry is how soon a pass over the pending orphans that failed is
// tried again while the gate stays open.
const pendingRetry = 10 * time.Second

// cacheLetGoWait bounds the wait, after a remote claim was marked orphaned,
// for the kind's cache to see it so (it then leaves the cache, which holds
// only our objects). Until then a pass over a new local claim of the same
// name could still read it as ours.
const cacheLetGoWait = 30 * time.Second

func (r *reconciler) pendingStore() PendingStore {
	return PendingStore{Reader: r.cl.Local.GetAPIReader(), Writer: r.cl.localClient(), Namespace: r.cfg.PendingNamespace}
}

// orphanPolicy says whether the local claim asks to be orphaned.
func orphanPolicy(local *unstructured.Unstructured) bool {
	return local.GetAnnotations()[conflict.AnnotationDeletionPolicy] == conflict.DeletionPolicyOrphan
}

// orphanLaterAllowed says whether a claim deleted while the gate is closed
// may go before the control plane is told: it asks to be orphaned, there is
// a place to record it, and the gate is closed for a reason (not merely
// waiting for the first probe, which answers within seconds).
func orphanLaterAllowed(local *unstructured.Unstructured, gate controlplane.GateState, pendingNamespace string) bool {
	return orphanPolicy(local) && pendingNamespace != "" && !gate.Open && gate.Reason != condition.ReasonStarting
}

// orphanLater lets a claim that asks to be orphaned go while the control
// plane does not answer: the remote claim is recorded as a pending orphan
// first (so a crash loses nothing), then the finalizer goes. The remote
// claim is marked orphaned when the control plane answers (settlePending).
func (r *reconciler) orphanLater(ctx context.Context, local *unstructured.Unstructured, gate controlplane.GateState) error {
	p := NewPendingOrphan(r.cfg, r.gvk, local.GetNamespace(), local.GetName(), local.GetUID(), r.now(), gate.Reason+": "+gate.Message)
	p.Name = RemoteNameOf(r.cfg.ClusterID, local) // a migrated claim keeps the name it was found under
	if err := r.pendingStore().Add(ctx, p); err != nil {
		return err
	}
	log.FromContext(ctx).Info("Claim deleted while the control plane does not answer; remote claim recorded as a pending orphan", "remote", p.Name, "reason", gate.Reason)
	r.event(local, corev1.EventTypeNormal, EventOrphanPending, fmt.Sprintf(
		"Deleted locally while the control plane does not answer (%s); the remote claim %s was left in control-plane namespace %s untouched, "+
			"with its composite and cloud resources, and will be marked orphaned when the control plane answers", gate.Reason, p.Name, r.cfg.Namespace))
	return r.removeFinalizer(ctx, local)
}

// settlePendingLoop runs a pass over the kind's pending orphans whenever the
// gate is (or becomes) open, until ctx ends; a failed pass is tried again
// after pendingRetry.
func (r *reconciler) settlePendingLoop(ctx context.Context) {
	if r.cfg.PendingNamespace == "" {
		return
	}
	ch := r.cl.Gate.Subscribe(ctx)
	var retryAfter <-chan time.Time
	for {
		retryAfter = nil
		if r.cl.Gate.State().Open {
			if err := r.settlePending(ctx); err != nil && ctx.Err() == nil {
				log.FromContext(ctx).Error(err, "Mark pending orphans in the control plane; trying again", "after", pendingRetry)
				retryAfter = time.After(pendingRetry)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		case <-retryAfter:
		}
	}
}

// settlePending marks each pending orphan of the kind orphaned (or drops it
// when there is nothing left to do) and removes its entry.
func (r *reconciler) settlePending(ctx context.Context) error {
	entries, _, err := r.pendingStore().List(ctx)
	if err != nil {
		return err
	}
	for _, p := range PendingOf(entries, r.cfg, r.gvk) {
		if !r.cl.Gate.State().Open {
			return nil
		}
		if err := r.settleEntry(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// settleEntry carries out DecidePending for one entry against a live read of
// the remote claim, waits until the kind's cache no longer holds it as ours,
// and then drops the entry.
func (r *reconciler) settleEntry(ctx context.Context, p PendingOrphan) error {
	remote := r.newRemote()
	key := types.NamespacedName{Namespace: r.cfg.Namespace, Name: p.Name}
	facts := RemoteFacts{Exists: true}
	if err := r.cl.Remote.GetAPIReader().Get(ctx, key, remote); apierrors.IsNotFound(err) {
		facts.Exists = false
	} else if err != nil {
		return fmt.Errorf("read remote claim %s: %w", key, err)
	}
	facts.UID, facts.Labels, facts.Annotations = remote.GetUID(), remote.GetLabels(), remote.GetAnnotations()
	action, why := DecidePending(p, facts)
	if action == PendingOrphanIt {
		patch, err := PendingOrphanPatch(remote.GetUID(), remote.GetResourceVersion())
		if err != nil {
			return err
		}
		if err := r.cl.remoteClient().Patch(ctx, remote, client.RawPatch(types.MergePatchType, patch)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("mark pending orphan %s orphaned: %w", klog.KObj(remote), err)
		}
	}
	if err := r.waitCacheLetGo(ctx, p); err != nil {
		return err
	}
	if err := r.pendingStore().Remove(ctx, p.Key()); err != nil {
		return err
	}
	log.FromContext(ctx).Info("Pending orphan settled", "remote", klog.KRef(r.cfg.Namespace, p.Name),
		"claim", klog.KRef(p.LocalNamespace, p.LocalName), "outcome", why)
	return nil
}

// waitCacheLetGo waits until the kind's cache of the control plane no
// longer holds the entry's remote claim as the one left behind.
func (r *reconciler) waitCacheLetGo(ctx context.Context, p PendingOrphan) error {
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, cacheLetGoWait, true, func(ctx context.Context) (bool, error) {
		cached := r.newRemote()
		err := cacheGet(ctx, r.cl.remoteClient(), types.NamespacedName{Namespace: r.cfg.Namespace, Name: p.Name}, cached)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		action, _ := DecidePending(p, RemoteFacts{Exists: true, UID: cached.GetUID(), Labels: cached.GetLabels(), Annotations: cached.GetAnnotations()})
		return action == PendingDrop, nil
	})
	if err != nil {
		return fmt.Errorf("wait for the cache to see remote claim %s/%s orphaned: %w", r.cfg.Namespace, p.Name, err)
	}
	return nil
}
