package connection

import (
	"context"
	gosync "sync"

	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/sync/controlplane"
)

// GVK is the connector's own status resource in the app cluster:
// one cluster-scoped Connection per connector.
var GVK = schema.GroupVersionKind{Group: "mcp-connector.io", Version: "v1alpha1", Kind: "Connection"}

// Connection conditions.
const (
	ConditionReady     = "Ready"
	ConditionReachable = "ControlPlaneReachable"
	ConditionMirrored  = "APIsMirrored"
)

// CRD is the CRD of the Connection resource.
func CRD() *apiextensionsv1.CustomResourceDefinition {
	obj := apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptrTo(true)}
	col := func(name, typ, path string) apiextensionsv1.CustomResourceColumnDefinition {
		return apiextensionsv1.CustomResourceColumnDefinition{Name: name, Type: typ, JSONPath: path}
	}
	return &apiextensionsv1.CustomResourceDefinition{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: "connections.mcp-connector.io", Labels: map[string]string{conflict.LabelManaged: "true"}},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: GVK.Group, Scope: apiextensionsv1.ClusterScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: "Connection", ListKind: "ConnectionList",
				Plural: "connections", Singular: "connection", ShortNames: []string{"mcpconn"}},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: GVK.Version, Served: true, Storage: true,
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", Description: "Connection reports one mcp-connector: the control plane it mirrors, the claim APIs it mirrors, refuses or keeps, and whether the control plane answers.",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": obj, "status": obj},
				}},
				AdditionalPrinterColumns: []apiextensionsv1.CustomResourceColumnDefinition{
					col("Ready", "string", `.status.conditions[?(@.type=="Ready")].status`),
					col("Reachable", "string", `.status.conditions[?(@.type=="ControlPlaneReachable")].status`),
					col("Namespace", "string", ".spec.controlPlaneNamespace"),
					col("APIs", "string", ".status.summary"),
					col("Claims", "string", ".status.claimsSummary"),
					col("Age", "date", ".metadata.creationTimestamp"),
				},
			}},
		},
	}
}

// Reporter keeps the Connection resource current: its spec at start, its
// status whenever the gate, an API's state or a local claim's state changes.
// It writes nothing while nothing changes.
type Reporter struct {
	Client client.Client
	// Cache is the cache Client reads from: claims are counted from its
	// informers' stores (condition.CountCached).
	Cache cache.Informers
	// Name of the Connection.
	Name         string
	ControlPlane string
	Namespace    string
	ClusterID    string
	Gate         *controlplane.Gate
	States       *States

	claimsOnce gosync.Once
	claims     chan struct{}
}

// NeedLeaderElection: only the leader reports.
func (r *Reporter) NeedLeaderElection() bool { return true }

// ClaimsChanged tells the reporter that a local claim changed state (or went
// away). It never blocks; changes within ClaimsCoalesce make one recount.
func (r *Reporter) ClaimsChanged() {
	select {
	case r.claimsChan() <- struct{}{}:
	default:
	}
}

func (r *Reporter) claimsChan() chan struct{} {
	r.claimsOnce.Do(func() { r.claims = make(chan struct{}, 1) })
	return r.claims
}

// Start installs the Connection CRD, writes the Connection and then its
// status on every change. Failures are retried with backoff: reporting must
// never stop the connector.
func (r *Reporter) Start(ctx context.Context) error {
	if !r.install(ctx) {
		return nil // ctx ended
	}
	gate := r.Gate.Subscribe(ctx)
	for {
		if err := r.writeStatus(ctx); err != nil {
			log.FromContext(ctx).Error(err, "Cannot update the Connection status", "connection", r.Name)
		}
		if !r.next(ctx, gate) {
			return nil
		}
	}
}

// install writes the CRD and the Connection, retrying with backoff; false
// when ctx ended first.
func (r *Reporter) install(ctx context.Context) bool {
	bo := backoff.NewExponentialBackOff()
	bo.MaxElapsedTime = 0
	bo.MaxInterval = 30 * time.Second
	err := backoff.RetryNotify(func() error {
		if err := EnsureCRD(ctx, r.Client); err != nil {
			return fmt.Errorf("install the Connection CRD: %w", err)
		}
		return r.ensure(ctx)
	}, backoff.WithContext(bo, ctx), func(err error, wait time.Duration) {
		log.FromContext(ctx).Info("Cannot write the Connection yet, retrying", "error", err.Error(), "retryIn", wait.Round(time.Millisecond))
	})
	return err == nil
}

// next waits for the next reason to look at the status again: the gate, an
// API's state, claims (coalesced: a burst of changes is one recount), or the
// periodic refresh. false when ctx ended.
func (r *Reporter) next(ctx context.Context, gate <-chan struct{}) bool {
	wait := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	select {
	case <-ctx.Done():
		return false
	case <-gate:
	case <-r.States.Changed():
	case <-r.claimsChan():
		return wait(ClaimsCoalesce)
	case <-time.After(reportInterval):
	}
	return true
}

// ClaimsCoalesce is how long the reporter collects claim changes before it
// recounts: the Connection follows claims within about this long, and a
// thousand claims becoming Ready together cost one status write, not a
// thousand.
const ClaimsCoalesce = time.Second

// reportInterval is how often the Connection is looked at without any
// change (a status someone else edited is put back); a pass that finds
// nothing different writes nothing.
const reportInterval = 5 * time.Minute

// countClaims counts the local claims of every mirrored API, from the cache,
// by condition.ClaimState.
func (r *Reporter) countClaims(ctx context.Context) (map[string]int, error) {
	total := map[string]int{}
	for _, a := range r.States.List() {
		if a.State != StateMirrored {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		counts, err := condition.CountCached(cctx, r.Cache, a.GVK())
		cancel()
		if err != nil {
			return nil, fmt.Errorf("count claims of %s: %w", a.Name, err)
		}
		for k, v := range counts {
			total[k] += v
		}
	}
	return total, nil
}

// EnsureCRD installs or updates the Connection CRD.
func EnsureCRD(ctx context.Context, c client.Client) error {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(CRD())
	if err != nil {
		return err
	}
	obj := &unstructured.Unstructured{Object: u}
	delete(obj.Object, "status")
	unstructured.RemoveNestedField(obj.Object, "metadata", "creationTimestamp")
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(FieldManager), client.ForceOwnership)
}

func (r *Reporter) ensure(ctx context.Context) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(GVK)
	u.SetName(r.Name)
	u.Object["spec"] = map[string]any{"controlPlane": r.ControlPlane, "controlPlaneNamespace": r.Namespace, "clusterID": r.ClusterID}
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("write Connection %s: %w", r.Name, err)
	}
	return nil
}

// writeStatus computes the status and applies it, under FieldManager and
// with no resourceVersion, when it differs from the Connection's. Claims that
// cannot be counted keep their old counts, and the error is returned.
func (r *Reporter) writeStatus(ctx context.Context) error {
	cur := &unstructured.Unstructured{}
	cur.SetGroupVersionKind(GVK)
	if err := r.Client.Get(ctx, types.NamespacedName{Name: r.Name}, cur); err != nil {
		if apierrors.IsNotFound(err) {
			return r.ensure(ctx)
		}
		return fmt.Errorf("read Connection %s: %w", r.Name, err)
	}
	old, _, _ := unstructured.NestedMap(cur.Object, "status")
	claims, countErr := r.countClaims(ctx)
	want := Status(r.Gate.State(), r.States.List(), r.States.HaveListed(), claims, old)
	if conflict.EqualJSON(normalize(old), normalize(want)) {
		return countErr
	}
	u := &unstructured.Unstructured{Object: map[string]any{"status": want}}
	u.SetGroupVersionKind(GVK)
	u.SetName(r.Name)
	if err := r.Client.Status().Patch(ctx, u, client.Apply, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply Connection %s status: %w", r.Name, err)
	}
	return countErr
}

// FieldManager owns the Connection CRD, the Connection and its status.
const FieldManager = "mcp-connector-connection"

func ptrTo[T any](v T) *T { return &v }
