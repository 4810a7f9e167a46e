package soak

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/condition"
	"github.com/mcp-connector/mcp-connector/sync/orphan"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// problem is one difference between the clusters and the model, filed under
// the invariant it breaks if it is still there at the convergence deadline.
type problem struct {
	inv int
	msg string
}

// inspect compares both clusters with the model.
func (r *runner) inspect(ctx context.Context) ([]problem, error) {
	var out []problem
	add := func(inv int, format string, args ...any) {
		out = append(out, problem{inv, fmt.Sprintf(format, args...)})
	}
	locals := map[string]*unstructured.Unstructured{}
	for _, ns := range appNamespaces {
		list, err := r.local(ns).List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) {
			continue // the CRD is not back yet: no claim there (checked below)
		}
		if err != nil {
			return nil, fmt.Errorf("list local claims: %w", err)
		}
		for i := range list.Items {
			locals[ns+"/"+list.Items[i].GetName()] = &list.Items[i]
		}
	}
	remotes, err := r.remote().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list remote claims: %w", err)
	}
	byOrigin := map[string][]*unstructured.Unstructured{}
	byName := map[string]*unstructured.Unstructured{}
	for i := range remotes.Items {
		byName[remotes.Items[i].GetName()] = &remotes.Items[i]
		if o, ok := conflict.OriginOf(remotes.Items[i].GetLabels(), remotes.Items[i].GetAnnotations()); ok && o.ClusterID == r.rig.clusterID {
			byOrigin[o.Namespace+"/"+o.Name] = append(byOrigin[o.Namespace+"/"+o.Name], &remotes.Items[i])
		}
	}
	for key, l := range locals {
		r.checkLocal(add, key, l, byOrigin[key])
	}
	for key, c := range r.model.claims {
		if locals[key] != nil {
			continue
		}
		switch c.state {
		case live:
			add(invOneRemote, "local claim %s lost (the schedule never deleted it)", key)
		case deleting:
			if n := len(byOrigin[key]); n > 0 {
				add(invOneRemote, "%d remote claims of %s left; the local claim was deleted and is gone", n, key)
			}
		case maybe:
			if rem := byName[r.remoteName(c)]; rem != nil && rem.GetDeletionTimestamp() == nil {
				r.checkNotImported(add, c, rem)
			}
		case orphaning:
			// Only a remote claim that existed can be lost: one deleted
			// before the connector pushed it never had one.
			if _, err := r.remote().Get(ctx, r.remoteName(c), metav1.GetOptions{}); apierrors.IsNotFound(err) && r.audit.sawRemote(key) {
				add(invNoUnaskedDelete, "remote claim of %s deleted; the local claim was deleted with the Orphan policy", key)
			}
		}
	}
	if err := harness.CRDEstablished(ctx, world.App.Client, harness.ExampleClaimCRDName); err != nil {
		add(invNoCRDDeleted, "mirrored CRD %s not back: %v", harness.ExampleClaimCRDName, err)
	}
	secrets, err := r.misplacedSecrets(ctx)
	for _, s := range secrets {
		add(invSecretPlacement, "%s", s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].msg < out[j].msg })
	return out, err
}

func (r *runner) checkLocal(add func(int, string, ...any), key string, l *unstructured.Unstructured, remotes []*unstructured.Unstructured) {
	c := r.model.claims[key]
	beingDeleted := l.GetDeletionTimestamp() != nil
	switch {
	case c == nil:
		add(invOneRemote, "local claim %s that the schedule never created", key)
		return
	case beingDeleted:
		add(invNoLeakedFinalizer, "local claim %s (%s) still held by finalizers %v", key, c.state, l.GetFinalizers())
		return
	case c.state == deleting || c.state == orphaning:
		add(invOneRemote, "local claim %s is back after the schedule deleted it (%s)", key, c.state)
	}
	if len(remotes) != 1 {
		add(invOneRemote, "local claim %s has %d remote claims, want 1", key, len(remotes))
	}
	if !controllerutil.ContainsFinalizer(l, conflict.Finalizer) {
		add(invOneRemote, "local claim %s has no finalizer %s yet", key, conflict.Finalizer)
	}
	if cond, ok := harness.GetCondition(l, condition.Type); !ok || cond.Status != "True" || cond.ObservedGeneration != l.GetGeneration() {
		add(invOneRemote, "local claim %s: %s is %s (%s) for generation %d, the claim is at %d", key, condition.Type, cond.Status, cond.Reason, cond.ObservedGeneration, l.GetGeneration())
	}
	if c.state == maybe {
		// Imported back after a CRD deletion: its spec is the remote's.
		for _, rem := range remotes {
			if n, m := specCount(l), specCount(rem); n != m {
				add(invOneRemote, "local claim %s (imported after the CRD deletion) has count %d, its remote claim %d", key, n, m)
			}
		}
	}
	if c.state != live {
		return
	}
	if n := specCount(l); n != c.count {
		add(invOneRemote, "local claim %s has count %d, the schedule last wrote %d", key, n, c.count)
	}
	for _, rem := range remotes {
		if n := specCount(rem); n != c.count {
			add(invOneRemote, "remote claim %s of %s has count %d, the schedule last wrote %d", rem.GetName(), key, n, c.count)
		}
	}
}

// checkNotImported checks a claim the CRD deletion took whose remote claim
// is there and not imported back. Orphaned by the CRD deletion, it must come
// back as a local claim. Only an object the schedule deleted (or annotated)
// with the Orphan policy may have been released as that policy says instead,
// when the connector let it go while the control plane was away (a pending
// orphan): then its remote claim is marked claim-deleted and stays, and
// import rightly leaves it.
func (r *runner) checkNotImported(add func(int, string, ...any), c *claim, rem *unstructured.Unstructured) {
	ann := rem.GetAnnotations()
	released := rem.GetLabels()[conflict.LabelClusterID] == "" && ann[conflict.AnnotationOrphaned] == sync.OrphanedClaimDeleted &&
		ann[conflict.AnnotationClaimUID] == string(c.goneUID)
	switch {
	case released && c.orphanUID == c.goneUID:
		return
	case released:
		add(invOneRemote, "%s: remote claim %s released as claim-deleted, but the schedule never set the Orphan policy on the object the CRD deletion took (annotations %v)", c.key(), rem.GetName(), ann)
	default:
		_, importable := orphan.ImportCandidate(rem.GetLabels(), ann, r.rig.clusterID)
		add(invOneRemote, "%s not imported back from its remote claim %s (import would take it: %v; labels %v, annotations %v)",
			c.key(), rem.GetName(), importable, rem.GetLabels(), ann)
	}
}

// misplacedSecrets lists the Secrets the connector wrote outside the
// namespaces that are its own, in both clusters.
func (r *runner) misplacedSecrets(ctx context.Context) ([]string, error) {
	var out []string
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	for _, side := range []struct {
		name string
		c    *harness.Env
		ok   func(ns string) bool
	}{
		{"app cluster", world.App, func(ns string) bool { return r.audit.appNamespaces[ns] }},
		{"control plane", world.ControlPlane.Env, func(ns string) bool { return ns == r.rig.namespace }},
	} {
		list, err := side.c.Dynamic.Resource(gvr).List(ctx, metav1.ListOptions{})
		if err != nil {
			return out, fmt.Errorf("list Secrets of the %s: %w", side.name, err)
		}
		for i := range list.Items {
			s := &list.Items[i]
			if writtenByConnector(s) && !side.ok(s.GetNamespace()) {
				out = append(out, fmt.Sprintf("%s: Secret %s/%s written by the connector", side.name, s.GetNamespace(), s.GetName()))
			}
		}
	}
	return out, nil
}

// converge waits until the clusters agree with the model, and files what
// still differs at the deadline under its invariant. It returns how long
// convergence took.
func (r *runner) converge() (time.Duration, bool) {
	start := time.Now()
	lastSaid := start
	var last []problem
	err := harness.Poll(context.Background(), r.cfg.converge, func() error {
		if _, err := r.rig.restartExited(); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.observe(ctx); err != nil {
			return err
		}
		p, err := r.inspect(ctx)
		if err != nil {
			return err
		}
		last = p
		if len(p) > 0 && time.Since(lastSaid) > 30*time.Second {
			lastSaid = time.Now()
			fmt.Printf("soak: converging for %s: %d differences, first: %v\n", time.Since(start).Round(time.Second), len(p), p[:min(3, len(p))])
		}
		if len(p) > 0 {
			return fmt.Errorf("%d differences, first: %s", len(p), p[0].msg)
		}
		return nil
	})
	took := time.Since(start)
	if err != nil {
		for _, p := range last {
			r.rep.inv[p.inv].add("%s", p.msg)
		}
		r.rep.ConvergeError = err.Error()
		return took, false
	}
	return took, true
}

// writeMethods are the HTTP methods that change state.
var writeMethods = []string{`method="POST"`, `method="PUT"`, `method="PATCH"`, `method="DELETE"`}

// writeCounts sums the write requests of every running replica, to the app
// cluster less the Lease renewals, and to the control plane (through the
// proxy) less the renewals of the cluster-id Lease there.
func (r *runner) writeCounts() (app, cp float64, err error) {
	appHost, err := url.Parse(world.App.Config.Host)
	if err != nil {
		return 0, 0, err
	}
	renewals := r.audit.leaseRenewals()
	for _, c := range r.rig.replicas {
		text, err := c.Scrape()
		if err != nil {
			return 0, 0, err
		}
		for _, m := range writeMethods {
			a, _ := harness.MetricSum(text, "rest_client_requests_total", m, `host="`+appHost.Host+`"`)
			p, _ := harness.MetricSum(text, "rest_client_requests_total", m, `host="`+r.rig.proxy.Addr()+`"`)
			app, cp = app+a, cp+p
		}
		for _, verb := range []string{`verb="create"`, `verb="update"`} {
			l, _ := harness.MetricSum(text, "mcp_connector_control_plane_lease_requests_total", verb)
			cp -= l
		}
	}
	return app - float64(renewals), cp, nil
}

// settleWindow is one window of the search for rest.
const settleWindow = 5 * time.Second

// atRest finds the first window of settleWindow with no write (bounded by
// the convergence timeout), then counts the writes over cfg.rest: each one
// is a violation of invariant 6. It returns how long rest took to come.
func (r *runner) atRest() (time.Duration, error) {
	start := time.Now()
	var a0, c0 float64
	err := harness.Poll(context.Background(), r.cfg.converge, func() error {
		var err error
		if a0, c0, err = r.writeCounts(); err != nil {
			return err
		}
		time.Sleep(settleWindow) // the window measured, not a wait for a condition
		a1, c1, err := r.writeCounts()
		if err != nil {
			return err
		}
		if a1 != a0 || c1 != c0 {
			return fmt.Errorf("still writing: %v to the app cluster, %v to the control plane in %s", a1-a0, c1-c0, settleWindow)
		}
		a0, c0 = a1, c1
		return nil
	})
	took := time.Since(start)
	if err != nil {
		r.rep.inv[invWritesAtRest].add("no window of %s without writes within %s: %v", settleWindow, r.cfg.converge, err)
		return took, nil
	}
	time.Sleep(r.cfg.rest) // the window measured, not a wait for a condition
	a1, c1, err := r.writeCounts()
	if err != nil {
		return took, err
	}
	r.rep.RestWrites = restWrites{App: a1 - a0, ControlPlane: c1 - c0, Window: r.cfg.rest.String()}
	for n := 0; n < int(a1-a0)+int(c1-c0); n++ {
		r.rep.inv[invWritesAtRest].add("write %d at rest: %v to the app cluster, %v to the control plane over %s", n+1, a1-a0, c1-c0, r.cfg.rest)
	}
	return took, nil
}
