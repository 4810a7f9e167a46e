package main

import (
	"context"
	"fmt"
	gosync "sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// createOpts are the options of every create the bench makes.
var createOpts = metav1.CreateOptions{}

// claimRef names one claim of the bench.
type claimRef struct {
	kind      kind
	namespace string
	name      string
}

// remoteName is the claim's name in the control-plane namespace.
func (c claimRef) remoteName() string { return sync.RemoteName(clusterID, c.namespace, c.name) }

// remoteSecretName is the name of its connection Secret in the control plane.
func (c claimRef) remoteSecretName() string {
	return sync.RemoteSecretName(clusterID, benchGroup, c.kind.Kind, c.namespace, c.name)
}

// secretName is the local connection Secret the claim asks for.
func (c claimRef) secretName() string { return c.name + "-conn" }

// newClaim is a claim as a user writes it.
func newClaim(c claimRef, replicas int64) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"size":                       "small",
			"replicas":                   replicas,
			"writeConnectionSecretToRef": map[string]any{"name": c.secretName()},
		},
	}}
	u.SetGroupVersionKind(c.kind.GVK())
	u.SetNamespace(c.namespace)
	u.SetName(c.name)
	return u
}

// spread lays n claims over namespaces and the three kinds, round robin.
func spread(prefix string, n int, namespaces []string) []claimRef {
	out := make([]claimRef, n)
	for i := range out {
		out[i] = claimRef{kind: kinds[i%len(kinds)], namespace: namespaces[(i/len(kinds))%len(namespaces)], name: fmt.Sprintf("%s-%05d", prefix, i)}
	}
	return out
}

func namespaces(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// parallel runs f for every index in [0, n) on workers goroutines and
// returns the first error.
func parallel(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var (
		wg    gosync.WaitGroup
		once  gosync.Once
		first error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
loop:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break loop
		}
	}
	close(next)
	wg.Wait()
	return first
}

// createClaims creates the claims, as users would, in the app cluster.
func createClaims(ctx context.Context, dyn dynamic.Interface, claims []claimRef, workers int) error {
	return parallel(ctx, len(claims), workers, func(ctx context.Context, i int) error {
		c := claims[i]
		if _, err := dyn.Resource(c.kind.GVR()).Namespace(c.namespace).Create(ctx, newClaim(c, 1), createOpts); err != nil {
			return fmt.Errorf("create claim %s/%s: %w", c.namespace, c.name, err)
		}
		return nil
	})
}

// inSync says whether a local claim carries the connector's Synced=True
// condition for its current generation.
func inSync(u *unstructured.Unstructured) bool {
	return u != nil && harness.CheckCondition(u, condition.Type, "True") == nil
}

func resources() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.Plural
	}
	return out
}
