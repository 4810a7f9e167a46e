package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
)

// measure takes samples of every figure on every path at the given added
// round trip to the control plane (half of it each way in the fault proxy).
// Paths are interleaved within each sample, their order rotated from one
// sample to the next, so that all three see the same noise; the first round
// is a warm-up and is not recorded.
func (r *aggRig) measure(ctx context.Context, b *bench, rtt time.Duration, samples int) (*aggregationRun, error) {
	r.fault.Slow(rtt / 2)
	run := &aggregationRun{AddedRTTMs: int(rtt / time.Millisecond), Ms: map[string]map[string][]float64{}}
	for _, f := range aggFigures {
		run.Ms[f] = map[string][]float64{}
	}
	for i := -1; i < samples; i++ {
		for _, f := range aggFigures {
			for j := range aggPaths {
				path := aggPaths[(i+1+j)%len(aggPaths)]
				d, err := r.sample(ctx, f, path, rtt, i)
				if err != nil {
					return nil, fmt.Errorf("%s, %s path, sample %d: %w", f, path, i, err)
				}
				if i >= 0 {
					run.Ms[f][path] = append(run.Ms[f][path], ms(d))
				}
			}
		}
	}
	for _, f := range aggFigures {
		b.logf("aggregation: +%s: %s: p50 native %.1f ms, mirror %.1f ms, aggregated %.1f ms", rtt, f,
			percentile(run.Ms[f][pathNative], 50), percentile(run.Ms[f][pathMirror], 50), percentile(run.Ms[f][pathAggregated], 50))
	}
	return run, nil
}

func (r *aggRig) sample(ctx context.Context, fig, path string, rtt time.Duration, i int) (time.Duration, error) {
	ri := r.w.appDyn.Resource(r.gvr[path])
	c := r.claims[((i+1)*aggNamespaces)%aggObjects] // an object of the watched namespace
	switch fig {
	case figAggGet:
		start := time.Now()
		_, err := ri.Namespace(c.namespace).Get(ctx, c.name, metav1.GetOptions{})
		return time.Since(start), err
	case figAggListNS:
		return timedList(ctx, ri, c.namespace, aggObjects/aggNamespaces)
	case figAggListAll:
		return timedList(ctx, ri, "", aggObjects)
	}
	return r.watchSample(ctx, path, fmt.Sprintf("ep-%d-%d", rtt/time.Millisecond, i))
}

// timedList lists ns ("" for all) in pages of 500, as kubectl's default
// --chunk-size and client-go's pager do, and checks that it saw want objects.
func timedList(ctx context.Context, ri dynamic.NamespaceableResourceInterface, ns string, want int) (time.Duration, error) {
	start := time.Now()
	opts := metav1.ListOptions{Limit: 500}
	n := 0
	for {
		l, err := ri.Namespace(ns).List(ctx, opts)
		if err != nil {
			return 0, err
		}
		n += len(l.Items)
		if opts.Continue = l.GetContinue(); opts.Continue == "" {
			break
		}
	}
	d := time.Since(start)
	if n != want {
		return d, fmt.Errorf("listed %d objects, want %d", n, want)
	}
	return d, nil
}

// watchSample writes a status into the object that a watcher in the app
// cluster follows, where its writer would: in the app cluster for the
// native CRD, in the control plane (the bench playing Crossplane) for the
// mirror and the aggregated path, and times until the watcher sees it.
func (r *aggRig) watchSample(ctx context.Context, path, endpoint string) (time.Duration, error) {
	c := r.claims[0]
	seen := r.watched[path].expect(c.kind.Plural, c.namespace, c.name, endpointIs(endpoint))
	var ri dynamic.ResourceInterface
	name := c.name
	switch path {
	case pathNative:
		ri = r.w.appDyn.Resource(r.gvr[pathNative]).Namespace(c.namespace)
	case pathMirror:
		ri, name = r.w.cpDyn.Resource(c.kind.GVR()).Namespace(connectorNamespace), c.remoteName()
	default:
		ri, name = r.w.cpDyn.Resource(c.kind.GVR()).Namespace(aggNamespace), remoteAggName(c.namespace, c.name)
	}
	return timed(seen, path+" watcher", func() error {
		return mergePatch(ctx, ri, name, statusPatch(endpoint), "status")
	})
}
