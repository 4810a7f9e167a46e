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
		before := m.Gate.State()
		s := m.Probe(ctx)
		m.Gate.Set(s, m.Now())
		observeGate(m.Gate.State())
		wait := m.Interval
		if s.Reachable {
			bo.Reset()
		} else {
			wait = bo.NextBackOff()
		}
		logTransition(ctx, before, s, m.Namespace, wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// logTransition says at Info when the gate changes (the control plane went
// away, came back, refused the namespace), and only at debug level while
// nothing changes: an outage of an hour logs once, not on every probe.
func logTransition(ctx context.Context, before, now GateState, namespace string, retryIn time.Duration) {
	logger := log.FromContext(ctx)
	changed := before.Reason != now.Reason || before.Open != now.Open || before.Reachable != now.Reachable
	switch {
	case !now.Reachable && changed:
		logger.Info("Control plane unreachable, retrying with backoff", "reason", now.Message, "retryIn", retryIn.Round(time.Millisecond))
	case !now.Reachable:
		logger.V(1).Info("Control plane still unreachable", "reason", now.Message, "retryIn", retryIn.Round(time.Millisecond))
	case changed && now.Open:
		logger.Info("Control plane reachable, syncing", "namespace", namespace)
	case changed:
		logger.Info("Control plane reachable, but not syncing", "reason", now.Reason, "message", now.Message)
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
	if s, decided := holderState(cm.Data[holderKey], m.ClusterID, m.Namespace, m.Takeover); decided {
		return s
	}
	return m.claim(ctx, cm)
}

// holderState is the gate state that the holder record alone decides: open
// when this cluster holds the namespace, refused when another one does and
// no takeover was asked for. decided is false when the record is to be
// (re)written with this cluster as the holder.
func holderState(holder, clusterID, namespace string, takeover bool) (s GateState, decided bool) {
	h := conflict.ClassifyHolder(holder, clusterID)
	switch {
	case h == conflict.HolderUs:
		return openState(namespace), true
	case !conflict.MayHold(h, takeover):
		return GateState{Reachable: true, Reason: condition.ReasonNamespaceHeld, Message: fmt.Sprintf(
			"control-plane namespace %s is held by app cluster %q; refusing to sync (use --takeover-namespace to take it deliberately)", namespace, holder)}, true
	}
	return GateState{}, false
}

func openState(namespace string) GateState {
	return GateState{Open: true, Reachable: true, Reason: condition.ReasonReady, Message: "control plane reachable; namespace " + namespace + " held by this cluster"}
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
	return openState(m.Namespace)
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
