package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// recoveryResult is the convergence of changes made while the control
// plane was away.
type recoveryResult struct {
	Changes          int     `json:"changes"`
	PartitionSeconds float64 `json:"partitionSeconds"`
	// ChangeSeconds is how long making the local changes took.
	ChangeSeconds float64 `json:"changeSeconds"`
	// Seconds is from the control plane first answering a request again
	// until every change is in it.
	Seconds float64 `json:"seconds"`
	// ReachableSeconds is until the Connection reports it reachable again.
	ReachableSeconds float64 `json:"reachableSeconds"`
	// BaselineSeconds: the bare client, holding the same changes, pushes
	// them as soon as the control plane answers.
	BaselineSeconds float64 `json:"baselineSeconds"`
	// Progress is the connector's convergence: seconds after reconnect at
	// which 10, 50 and 90 percent of the changes were in the control plane.
	Progress [3]float64 `json:"progress"`
}

var connectionGVR = schema.GroupVersionResource{Group: "mcp-connector.io", Version: "v1alpha1", Resource: "connections"}

// recovery cuts the control plane off (its kube-apiserver stops; etcd and
// every object stay), changes the spec of claims locally meanwhile, brings
// it back and times the convergence; then the same for the baseline.
func (b *bench) recovery(ctx context.Context, w *world, conn *connector, claims []claimRef) error {
	n := min(b.o.Changes, len(claims))
	changed := claims[:n]
	res := &recoveryResult{Changes: n, PartitionSeconds: b.o.Partition.Seconds()}
	b.logf("recovery: %d changes during a %s partition", n, b.o.Partition)
	const replicas = 5
	up, err := partition(ctx, w, b.o.Partition, func() error {
		start := time.Now()
		err := parallel(ctx, n, b.o.Workers, func(ctx context.Context, i int) error {
			c := changed[i]
			return mergePatch(ctx, w.appDyn.Resource(c.kind.GVR()).Namespace(c.namespace), c.name, fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas))
		})
		res.ChangeSeconds = time.Since(start).Seconds()
		return err
	})
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, c := range changed {
		names[c.remoteName()] = true
	}
	reachable := time.Time{}
	done, err := pollConverged(ctx, w.cpDyn, connectorNamespace, names, replicas, conn.alive, func(converged int) {
		if reachable.IsZero() && connectionReachable(ctx, w.appDyn) {
			reachable = time.Now()
		}
		for i, f := range []float64{0.1, 0.5, 0.9} {
			if res.Progress[i] == 0 && float64(converged) >= f*float64(n) {
				res.Progress[i] = time.Since(up).Seconds()
			}
		}
	})
	if err != nil {
		return err
	}
	res.Seconds = done.Sub(up).Seconds()
	if !reachable.IsZero() {
		res.ReachableSeconds = reachable.Sub(up).Seconds()
	}
	b.logf("recovery: connector converged %.1f s after reconnect (reachable after %.1f s)", res.Seconds, res.ReachableSeconds)
	conn.stop()
	if res.BaselineSeconds, err = b.baselineRecovery(ctx, w, n, replicas); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	b.results.Recovery = res
	return nil
}

// partition stops the control plane's kube-apiserver, runs during, keeps it
// away for d in all, and starts it again. It returns when the API server
// first answered a request (up), which comes before it reports itself
// healthy, and waits for the restart to complete before it returns.
func partition(ctx context.Context, w *world, d time.Duration, during func() error) (time.Time, error) {
	start := time.Now()
	if err := w.cp.StopAPIServer(); err != nil {
		return time.Time{}, err
	}
	if err := during(); err != nil {
		return time.Time{}, err
	}
	select { // the rest of the partition: a duration, not a condition
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	case <-time.After(time.Until(start.Add(d))):
	}
	started := make(chan error, 1)
	go func() { started <- w.cp.StartAPIServer() }()
	var up time.Time
	err := harness.Poll(ctx, 2*time.Minute, func() error {
		_, err := w.cpDyn.Resource(namespaceGVR).Get(ctx, connectorNamespace, metav1.GetOptions{})
		if err == nil {
			up = time.Now()
		}
		return err
	})
	return up, errors.Join(err, <-started)
}

var namespaceGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// baselineRecovery: the bare client holds n changes to objects of the
// baseline namespace through a partition and pushes them once it is over.
func (b *bench) baselineRecovery(ctx context.Context, w *world, n int, replicas int64) (float64, error) {
	objs := spread("rec", n, []string{baselineNamespace})
	err := parallel(ctx, n, b.o.Workers, func(ctx context.Context, i int) error {
		_, err := w.cpDyn.Resource(objs[i].kind.GVR()).Namespace(baselineNamespace).Create(ctx, newClaim(objs[i], 1), createOpts)
		return err
	})
	if err != nil {
		return 0, err
	}
	dyn, err := dynamic.NewForConfig(limited(w.cp.Config, b.o.QPS, b.o.Burst, "bench-baseline"))
	if err != nil {
		return 0, err
	}
	up, err := partition(ctx, w, b.o.Partition, func() error { return nil })
	if err != nil {
		return 0, err
	}
	err = parallel(ctx, n, b.o.Workers, func(ctx context.Context, i int) error {
		return mergePatch(ctx, dyn.Resource(objs[i].kind.GVR()).Namespace(baselineNamespace), objs[i].name, fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas))
	})
	if err != nil {
		return 0, err
	}
	names := map[string]bool{}
	for _, o := range objs {
		names[o.name] = true
	}
	done, err := pollConverged(ctx, w.cpDyn, baselineNamespace, names, replicas, nil, nil)
	return done.Sub(up).Seconds(), err
}

// pollConverged lists the claims of ns every 50 ms until every one named
// has spec.replicas == replicas, and returns when that was first seen. each,
// if set, hears how many had after every list.
func pollConverged(ctx context.Context, dyn dynamic.Interface, ns string, names map[string]bool, replicas int64, alive func() error, each func(converged int)) (time.Time, error) {
	var done time.Time
	err := harness.Poll(ctx, 5*time.Minute, func() error {
		if alive != nil {
			if err := alive(); err != nil {
				return err
			}
		}
		n := 0
		for _, k := range kinds {
			list, err := dyn.Resource(k.GVR()).Namespace(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			for _, u := range list.Items {
				v, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
				if names[u.GetName()] && v == replicas {
					n++
				}
			}
		}
		if each != nil {
			each(n)
		}
		if n < len(names) {
			return fmt.Errorf("%d of %d changes in the control plane", n, len(names))
		}
		done = time.Now()
		return nil
	})
	return done, err
}

// connectionReachable says whether the connector's Connection reports the
// control plane reachable.
func connectionReachable(ctx context.Context, app dynamic.Interface) bool {
	u, err := app.Resource(connectionGVR).Get(ctx, connectorNamespace, metav1.GetOptions{})
	if err != nil {
		return false
	}
	c, ok := harness.GetCondition(u, "ControlPlaneReachable")
	return ok && c.Status == "True"
}
