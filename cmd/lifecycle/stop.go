package lifecycle

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Step 1 of the uninstall: stop the connector.

// stopConnector scales the release's Deployments to zero and waits until no
// pod of them is left and nobody holds the connector's leader-election Lease.
func (u *uninstallRun) stopConnector(ctx context.Context) error {
	deployments, err := manifestObjects(u.release.Manifest, "Deployment")
	if err != nil {
		return err
	}
	for _, obj := range deployments {
		if err := u.scaleToZero(ctx, types.NamespacedName{Namespace: u.release.Namespace, Name: obj.GetName()}); err != nil {
			return err
		}
	}
	p := &progress{out: u.Out}
	err = pollUntil(ctx, u.Timeout, func() (bool, error) { return u.connectorStopped(ctx, p) })
	if err != nil {
		return fmt.Errorf("%w (last: %s); stop every connector of this connection and run uninstall again: nothing was changed in the control plane", err, p.last)
	}
	p.show("stopped", "No connector runs (no pod, Lease free)")
	return nil
}

// scaleToZero scales one Deployment of the release to zero replicas and
// remembers the selector of its pods.
func (u *uninstallRun) scaleToZero(ctx context.Context, key types.NamespacedName) error {
	d := &appsv1.Deployment{}
	if err := u.app.Get(ctx, key, d); apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("read Deployment %s: %w", key, err)
	}
	if d.Spec.Selector != nil {
		u.selectors = append(u.selectors, d.Spec.Selector.MatchLabels)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 0 {
		patch := []byte(`{"spec":{"replicas":0}}`)
		if err := u.app.Patch(ctx, d, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return fmt.Errorf("scale Deployment %s to 0: %w", key, err)
		}
	}
	say(u.Out, "  Deployment %s scaled to 0\n", key)
	return nil
}

// connectorStopped says whether no pod of the Deployment remains and the
// Lease is free (released, or expired).
func (u *uninstallRun) connectorStopped(ctx context.Context, p *progress) (bool, error) {
	for _, sel := range u.selectors {
		pods := &corev1.PodList{}
		if err := u.app.List(ctx, pods, client.InNamespace(u.release.Namespace), sel); err != nil {
			return false, fmt.Errorf("list the connector's pods: %w", err)
		}
		if n := len(pods.Items); n > 0 {
			p.show("pods", fmt.Sprintf("Waiting for %d connector pod(s) to end, e.g. %s", n, pods.Items[0].Name))
			return false, nil
		}
	}
	if !u.settings.LeaderElect {
		return true, nil
	}
	lease := &coordinationv1.Lease{}
	key := u.leaseKey()
	if err := u.app.Get(ctx, key, lease); apierrors.IsNotFound(err) {
		return true, nil
	} else if err != nil {
		return false, fmt.Errorf("read Lease %s: %w", key, err)
	}
	if holder, held := leaseHeld(lease, time.Now()); held {
		p.show("lease", fmt.Sprintf("Waiting for the connector %q to let go of Lease %s", holder, key))
		return false, nil
	}
	return true, nil
}

// leaseKey is the connector's leader-election Lease (run's LeaderElectionID).
func (u *uninstallRun) leaseKey() types.NamespacedName {
	return types.NamespacedName{Namespace: u.settings.LeaseNamespace, Name: "mcp-connector-" + u.settings.Connection}
}

// leaseHeld says whether a Lease has a holder whose term has not run out.
func leaseHeld(l *coordinationv1.Lease, now time.Time) (string, bool) {
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return "", false
	}
	holder := *l.Spec.HolderIdentity
	if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return holder, true
	}
	expiry := l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)
	return holder, now.Before(expiry)
}
