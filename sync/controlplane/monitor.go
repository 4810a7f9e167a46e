package controlplane

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync/condition"
)

// HolderName is the ConfigMap in the control-plane namespace that records
// which app cluster holds the namespace.
const HolderName = "mcp-connector-holder"

// holderKey is the data key of the holder ConfigMap.
const holderKey = "clusterID"

// Monitor probes the control plane and keeps the Gate current. Each probe is
// one read of the holder record (a write only when the namespace is free or
// taken over), so it also proves that the namespace is still ours. While the
// control plane does not answer, probes back off exponentially with jitter.
type Monitor struct {
	// Reader reads the control plane directly, without a cache.
	Reader client.Reader
	// Writer creates the holder record and, if allowed, the namespace.
	Writer    client.Client
	Namespace string
	ClusterID string
	// Takeover allows taking the namespace from another app cluster.
	Takeover bool
	Gate     *Gate
	// Interval between probes while the control plane answers.
	Interval time.Duration
	// MaxBackoff caps the wait between probes while it does not.
	MaxBackoff time.Duration
	Now        func() time.Time
}

// NeedLeaderElection: only the leader claims the namespace.
func (m *Monitor) NeedLeaderElection() bool { return true }

// Start probes until ctx ends.
func (m *Monitor) Start(ctx context.Context) error {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = 500 * time.Millisecond
	bo.MaxInterval = m.MaxBackoff
	bo.MaxElapsedTime = 0
	for {
		s := m.Probe(ctx)
		before := m.Gate.State()
		m.Gate.Set(s, m.Now())
		if s.Reachable && (s.Reason != before.Reason || s.Open != before.Open) {
			// Unreachable is logged below on every retry; say once when the
			// control plane answers again, or refuses the namespace.
			if s.Open {
				log.FromContext(ctx).Info("Control plane reachable, syncing", "namespace", m.Namespace)
			} else {
				log.FromContext(ctx).Info("Control plane reachable, but not syncing", "reason", s.Reason, "message", s.Message)
			}
		}
		observeGate(m.Gate.State())
		wait := m.Interval
		if s.Reachable {
			bo.Reset()
		} else {
			wait = bo.NextBackOff()
			log.FromContext(ctx).Info("Control plane unreachable, retrying", "reason", s.Message, "retryIn", wait.Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// Probe reads (and if needed claims) the holder record once.
func (m *Monitor) Probe(ctx context.Context) GateState {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cm := &corev1.ConfigMap{}
	err := m.Reader.Get(ctx, types.NamespacedName{Namespace: m.Namespace, Name: HolderName}, cm)
	switch {
	case apierrors.IsNotFound(err):
		return m.claim(ctx, nil)
	case err != nil:
		return stateForError(err, m.Namespace)
	}
	h := conflict.ClassifyHolder(cm.Data[holderKey], m.ClusterID)
	switch {
	case h == conflict.HolderUs:
		return GateState{Open: true, Reachable: true, Reason: condition.ReasonReady, Message: "control plane reachable; namespace " + m.Namespace + " held by this cluster"}
	case !conflict.MayHold(h, m.Takeover):
		return GateState{Reachable: true, Reason: condition.ReasonNamespaceHeld, Message: fmt.Sprintf(
			"control-plane namespace %s is held by app cluster %q; refusing to sync (use --takeover-namespace to take it deliberately)", m.Namespace, cm.Data[holderKey])}
	}
	return m.claim(ctx, cm)
}

// claim records this cluster as the holder, creating the namespace if it is
// missing and the credentials allow it.
func (m *Monitor) claim(ctx context.Context, existing *corev1.ConfigMap) GateState {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: m.Namespace, Name: HolderName,
			Labels: map[string]string{conflict.LabelClusterID: m.ClusterID}},
		Data: map[string]string{holderKey: m.ClusterID},
	}
	var err error
	if existing != nil {
		cm.ResourceVersion = existing.ResourceVersion
		err = m.Writer.Update(ctx, cm)
	} else {
		err = m.Writer.Create(ctx, cm)
		if apierrors.IsNotFound(err) {
			err = m.createNamespace(ctx)
			if err == nil {
				err = m.Writer.Create(ctx, cm)
			}
		}
	}
	if err != nil {
		return stateForError(err, m.Namespace)
	}
	return GateState{Open: true, Reachable: true, Reason: condition.ReasonReady, Message: "control plane reachable; namespace " + m.Namespace + " held by this cluster"}
}

func (m *Monitor) createNamespace(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: m.Namespace}}
	if err := m.Writer.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create control-plane namespace %s: %w", m.Namespace, err)
	}
	return nil
}

// stateForError tells an API server that answered "no" (reachable, but the
// namespace is missing or our credentials are not enough) from one that did
// not answer at all.
func stateForError(err error, ns string) GateState {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return GateState{Reason: condition.ReasonUnreachable, Message: "control plane unreachable: " + err.Error()}
	}
	switch {
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return GateState{Reachable: true, Reason: condition.ReasonForbidden, Message: fmt.Sprintf(
			"control plane refused our credentials for namespace %s: %v", ns, err)}
	case apierrors.IsNotFound(err):
		return GateState{Reachable: true, Reason: condition.ReasonNamespaceUnavailable, Message: fmt.Sprintf(
			"control-plane namespace %s does not exist: %v", ns, err)}
	case apierrors.IsServiceUnavailable(err), apierrors.IsTimeout(err), apierrors.IsServerTimeout(err),
		apierrors.IsInternalError(err), apierrors.IsTooManyRequests(err):
		return GateState{Reason: condition.ReasonUnreachable, Message: "control plane unavailable: " + err.Error()}
	}
	return GateState{Reachable: true, Reason: condition.ReasonNamespaceUnavailable, Message: "control plane answered: " + err.Error()}
}
