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
	"k8s.io/apimachinery/pkg/util/wait"
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
// taken over), so it also proves that the namespace is still ours. A
// namespace that this cluster held (its local record says so) and that is
// gone is not re-created: the gate closes with NamespaceDeleted until a
// person asks. While the namespace is ours, the Monitor contends for the
// cluster-id Lease there: only the connector that holds it syncs, so two app
// clusters with one cluster id do not both write. While the control plane
// does not answer, probes back off exponentially with jitter.
type Monitor struct {
	// Reader reads the control plane directly, without a cache.
	Reader client.Reader
	// Writer creates the holder record and, if allowed, the namespace.
	Writer    client.Client
	Namespace string
	ClusterID string
	// Takeover allows taking the namespace from another app cluster.
	Takeover bool
	// State is the local record, in the app cluster, of the namespace this
	// cluster held.
	State *StateStore
	// Lease is the cluster-id Lease in the control-plane namespace.
	Lease *ClusterLease
	Gate  *Gate
	// Interval between probes while the control plane answers.
	Interval time.Duration
	// MaxBackoff caps the wait between probes while it does not.
	MaxBackoff time.Duration
	// Contact, if set, ends that wait as soon as any request to the control
	// plane gets an answer.
	Contact *Contact
	Now     func() time.Time

	// known is the local record as last read or written.
	known *Record
	// timedOut counts the probes in a row that ran out of time while the
	// control plane was unreachable (probeTimeout).
	timedOut int
}

// NeedLeaderElection: only the leader claims the namespace.
func (m *Monitor) NeedLeaderElection() bool { return true }

// Start probes until ctx ends, then releases the cluster-id Lease.
func (m *Monitor) Start(ctx context.Context) error {
	defer func() {
		m.Lease.Stop()
		m.Lease.Wait()
	}()
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
			m.contact(false)
		} else {
			wait = bo.NextBackOff()
			m.contact(true)
		}
		logTransition(ctx, before, s, m.Namespace, wait)
		select {
		case <-ctx.Done():
			return nil
		case <-m.Lease.Changed():
		case <-m.Contact.woken():
		case <-time.After(wait):
		}
	}
}

// contact arms the Contact while the control plane is unreachable.
func (m *Monitor) contact(arm bool) {
	switch {
	case m.Contact == nil:
	case arm:
		m.Contact.arm()
	default:
		m.Contact.disarm()
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

// Probe reads (and if needed claims) the holder record once, checks it
// against the local record, and, while the namespace is ours, asks the
// cluster-id Lease whether this process may sync.
func (m *Monitor) Probe(ctx context.Context) GateState {
	last := m.Gate.State()
	pctx, cancel := context.WithTimeout(ctx, probeTimeout(!last.Reachable && last.Reason == condition.ReasonUnreachable, m.timedOut))
	defer cancel()
	defer func() {
		if errors.Is(pctx.Err(), context.DeadlineExceeded) {
			m.timedOut++
		} else {
			m.timedOut = 0
		}
	}()
	s, holderUID := m.probeHolder(pctx)
	if !s.Open {
		m.Lease.Stop()
		return s
	}
	if ls, ok := m.probeLease(ctx); !ok {
		return ls
	}
	if err := m.remember(pctx, holderUID); err != nil {
		return GateState{Reachable: true, Reason: condition.ReasonForbidden, Message: err.Error() +
			"; not syncing until this cluster can record that it holds the namespace"}
	}
	return s
}

// The time one probe may take. While the control plane answers (and before
// the first contact), a slow answer is still an answer. Once it has stopped
// answering, a probe can hang where a new one would not: a TLS handshake
// begun while its API server was starting waits out the transport's 10 s,
// and the gate stayed closed that long after the server was back. So a probe
// of a control plane that is away gives up after probeTimeoutAway, doubled
// after each probe in a row that ran out of time, so that a server that is
// only slow is still heard within a few probes.
const (
	probeTimeoutReachable = 10 * time.Second
	probeTimeoutAway      = 2 * time.Second
)

// probeTimeout is the next probe's deadline, from whether the last probe
// found the control plane away and how many probes in a row ran out of time.
func probeTimeout(away bool, timedOut int) time.Duration {
	if !away {
		return probeTimeoutReachable
	}
	return min(probeTimeoutAway<<min(timedOut, 8), probeTimeoutReachable)
}

// probeHolder reads the holder record and judges it with the local record;
// the uid is the holder record's when the namespace is ours.
func (m *Monitor) probeHolder(ctx context.Context) (GateState, types.UID) {
	cm := &corev1.ConfigMap{}
	err := m.Reader.Get(ctx, types.NamespacedName{Namespace: m.Namespace, Name: HolderName}, cm)
	switch {
	case apierrors.IsNotFound(err):
		return m.holderMissing(ctx)
	case err != nil:
		return stateForError(err, m.Namespace), ""
	}
	s, decided := holderState(cm.Data[holderKey], m.ClusterID, m.Namespace, m.Takeover)
	switch {
	case !decided:
		return m.claim(ctx, cm)
	case !s.Open:
		return s, ""
	}
	return m.checkRecord(ctx, cm.UID)
}

// holderMissing: the first install claims the namespace; a cluster that held
// it stops.
func (m *Monitor) holderMissing(ctx context.Context) (GateState, types.UID) {
	rec, err := m.State.Load(ctx)
	if err != nil {
		return GateState{Reachable: true, Reason: condition.ReasonNamespaceUnavailable, Message: fmt.Sprintf(
			"holder record %s is missing in namespace %s and %v; not creating it", HolderName, m.Namespace, err)}, ""
	}
	m.known = &rec
	if judgeRecord(rec, m.Namespace, "") == verdictDeleted {
		return namespaceDeletedState(m.Namespace, ""), ""
	}
	return m.claim(ctx, nil)
}

// checkRecord opens for a holder record of ours that is the one this
// cluster recorded (or when none is recorded). The record is read from the
// app cluster only when it is not known to match: at rest, not at all.
func (m *Monitor) checkRecord(ctx context.Context, uid types.UID) (GateState, types.UID) {
	if m.known == nil || judgeRecord(*m.known, m.Namespace, uid) != verdictOpen {
		rec, err := m.State.Load(ctx)
		if err != nil {
			return GateState{Reachable: true, Reason: condition.ReasonNamespaceUnavailable, Message: err.Error()}, ""
		}
		m.known = &rec
	}
	if judgeRecord(*m.known, m.Namespace, uid) == verdictDeleted {
		return namespaceDeletedState(m.Namespace, uid), ""
	}
	return openState(m.Namespace), uid
}

// remember records the holder record this cluster holds, when it is not the
// one recorded already.
func (m *Monitor) remember(ctx context.Context, uid types.UID) error {
	rec := Record{Namespace: m.Namespace, HolderUID: uid}
	if m.known != nil && *m.known == rec {
		return nil
	}
	if err := m.State.Save(ctx, rec); err != nil {
		m.known = nil
		return err
	}
	m.known = &rec
	log.FromContext(ctx).Info("Recorded the control-plane namespace this cluster holds", "namespace", m.Namespace, "holderUID", uid)
	return nil
}

// leaseFirstTry bounds the wait for a freshly started election's first
// answer, so that a start does not show a passing "acquiring" on every claim.
const leaseFirstTry = 3 * time.Second

// probeLease starts the cluster-id Lease's election if needed (on ctx, the
// Monitor's) and says whether this process holds it.
func (m *Monitor) probeLease(ctx context.Context) (GateState, bool) {
	lease, self := m.Lease.Name, m.Lease.Identity
	if err := m.Lease.Ensure(ctx); err != nil {
		return stateForError(err, m.Namespace), false
	}
	_ = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, leaseFirstTry, true, func(context.Context) (bool, error) {
		v := m.Lease.view()
		return v.Holding || (v.Holder != "" && v.Holder != self) || v.Err != nil, nil
	})
	return leaseState(m.Lease.view(), self, lease, m.Namespace, m.ClusterID)
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
func (m *Monitor) claim(ctx context.Context, existing *corev1.ConfigMap) (GateState, types.UID) {
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
		return stateForError(err, m.Namespace), ""
	}
	return openState(m.Namespace), cm.UID
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
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return GateState{Reachable: true, Reason: condition.ReasonNamespaceUnavailable, Message: fmt.Sprintf(
			"control-plane namespace %s is being deleted: %v", ns, err)}
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
