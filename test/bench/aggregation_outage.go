package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// outageResult is what each path does while the control plane is away (the
// fault proxy cuts every connection to it, for the connector and the
// aggregation proxy alike).
type outageResult struct {
	// Rows answer one question for each path.
	Rows []outageRow `json:"rows"`
	// UnavailableAfterS is how long after the cut the APIService went
	// Available=False; Condition is its reason and message then.
	UnavailableAfterS float64 `json:"unavailableAfterS"`
	Condition         string  `json:"condition"`
	// Discovery is what a full discovery (kubectl api-resources, the
	// namespace controller, Argo CD) returned.
	Discovery string `json:"discovery"`
	// Phases name the steps of the namespace deletions; Deletions holds, for
	// each namespace, what happened in each phase.
	Phases    []string      `json:"phases"`
	Deletions []nsDeletions `json:"deletions"`
}

type outageRow struct {
	Question string            `json:"question"`
	Answers  map[string]string `json:"answers"`
}

type nsDeletions struct {
	Namespace string   `json:"namespace"`
	Holds     string   `json:"holds"`
	Outcomes  []string `json:"outcomes"`
	gone      bool
}

// The namespaces whose deletion the outage follows.
const (
	outageNativeNS = "agg-out-native"
	outageMirrorNS = "agg-out-mirror"
)

func (r *aggRig) outage(ctx context.Context, b *bench) (*outageResult, error) {
	if err := r.outageNamespaces(ctx); err != nil {
		return nil, err
	}
	out := &outageResult{}
	cut := time.Now()
	r.fault.Cut()
	b.logf("aggregation: control plane cut")
	out.Rows = append(out.Rows, r.readsDuringOutage(ctx)...)
	err := harness.Poll(ctx, 3*time.Minute, func() error { return r.apiServiceIs(ctx, "False") })
	if err != nil {
		return out, fmt.Errorf("the APIService stayed Available with the control plane cut: %w", err)
	}
	out.UnavailableAfterS = time.Since(cut).Seconds()
	out.Condition = r.apiServiceCondition(ctx)
	out.Discovery, out.Rows = r.discoveryDuringOutage(out.Rows)
	b.logf("aggregation: APIService unavailable after %.1f s; discovery: %s", out.UnavailableAfterS, out.Discovery)
	return out, r.deleteNamespacesDuringOutage(ctx, b, out)
}

// outageNamespaces creates a namespace holding one native object and one
// holding one mirror claim (in sync), to delete while the control plane is
// away.
func (r *aggRig) outageNamespaces(ctx context.Context) error {
	if err := r.w.createLocalNamespaces(ctx, []string{outageNativeNS, outageMirrorNS}); err != nil {
		return err
	}
	for ns, path := range map[string]string{outageNativeNS: pathNative, outageMirrorNS: pathMirror} {
		c := claimRef{kind: kinds[0], namespace: ns, name: "held"}
		u := newClaim(c, 1)
		u.SetAPIVersion(r.gvr[path].GroupVersion().String())
		if _, err := r.w.appDyn.Resource(r.gvr[path]).Namespace(ns).Create(ctx, u, createOpts); err != nil {
			return err
		}
	}
	return harness.Poll(ctx, time.Minute, func() error {
		u, err := r.w.appDyn.Resource(r.gvr[pathMirror]).Namespace(outageMirrorNS).Get(ctx, "held", metav1.GetOptions{})
		if err != nil {
			return err
		}
		return harness.CheckCondition(u, "ControlPlaneSynced", "True")
	})
}

func (r *aggRig) readsDuringOutage(ctx context.Context) []outageRow {
	get := outageRow{Question: "GET one object", Answers: map[string]string{}}
	list := outageRow{Question: "LIST all namespaces", Answers: map[string]string{}}
	c := r.claims[0]
	for _, path := range aggPaths {
		ri := r.w.appDyn.Resource(r.gvr[path])
		start := time.Now()
		_, err := ri.Namespace(c.namespace).Get(ctx, c.name, metav1.GetOptions{})
		get.Answers[path] = answered(err, time.Since(start))
		start = time.Now()
		want := aggObjects + 1 // the outage namespaces hold one native object and one mirror claim
		if path == pathAggregated {
			want = aggObjects
		}
		_, err = timedList(ctx, ri, "", want)
		list.Answers[path] = answered(err, time.Since(start))
	}
	return []outageRow{get, list}
}

func answered(err error, d time.Duration) string {
	if err == nil {
		return fmt.Sprintf("answered (%.0f ms)", ms(d))
	}
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return fmt.Sprintf("**HTTP %d %s** after %.0f ms", st.Status().Code, st.Status().Reason, ms(d))
	}
	return "**error**: " + short(err.Error())
}

func short(s string) string {
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 110 {
		return s[:110] + "…"
	}
	return s
}

func (r *aggRig) apiServiceCondition(ctx context.Context) string {
	u, err := r.w.appDyn.Resource(apiServiceGVR).Get(ctx, aggAPIServiceName(), metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	c, _ := harness.GetCondition(u, "Available")
	return short(c.Reason + ": " + c.Message)
}

// discoveryDuringOutage runs a full discovery of the app cluster, as
// `kubectl api-resources` does, and says for each path whether its group
// was served.
func (r *aggRig) discoveryDuringOutage(rows []outageRow) (string, []outageRow) {
	dc, err := discovery.NewDiscoveryClientForConfig(unlimited(r.w.app.Config))
	if err != nil {
		return err.Error(), rows
	}
	_, _, err = dc.ServerGroupsAndResources()
	var failed *discovery.ErrGroupDiscoveryFailed
	row := outageRow{Question: "discovery of its group (`kubectl api-resources`)", Answers: map[string]string{}}
	for _, path := range aggPaths {
		row.Answers[path] = "served"
		if errors.As(err, &failed) {
			if gerr, bad := failed.Groups[r.gvr[path].GroupVersion()]; bad {
				row.Answers[path] = "**fails**: " + short(gerr.Error())
			}
		}
	}
	whole := "complete"
	if err != nil {
		whole = "**fails for every client**: " + short(err.Error())
	}
	return whole, append(rows, row)
}

// deleteNamespacesDuringOutage deletes the two outage namespaces and follows
// them through three phases: the control plane away with the APIService
// still registered, then with it deleted (what an operator would do), then
// with the control plane back.
func (r *aggRig) deleteNamespacesDuringOutage(ctx context.Context, b *bench, out *outageResult) error {
	held := []nsDeletions{
		{Namespace: outageNativeNS, Holds: "one native CRD object"},
		{Namespace: outageMirrorNS, Holds: "one mirror claim"},
	}
	for i := range held {
		if err := r.w.app.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: held[i].Namespace}}); err != nil {
			return err
		}
	}
	phases := []struct {
		name  string
		enter func() error
		wait  time.Duration
	}{
		{"control plane away, APIService registered", func() error { return nil }, 60 * time.Second},
		{"control plane away, APIService deleted", func() error {
			return r.w.appDyn.Resource(apiServiceGVR).Delete(ctx, aggAPIServiceName(), metav1.DeleteOptions{})
		}, 90 * time.Second},
		{"control plane back", func() error { r.fault.Restore(); return nil }, 2 * time.Minute},
	}
	for _, ph := range phases {
		out.Phases = append(out.Phases, ph.name)
		if err := ph.enter(); err != nil {
			return fmt.Errorf("%s: %w", ph.name, err)
		}
		r.followDeletions(ctx, held, ph.wait)
		b.logf("aggregation: %s: %s %s, %s %s", ph.name, held[0].Namespace, last(held[0].Outcomes), held[1].Namespace, last(held[1].Outcomes))
	}
	out.Deletions = held
	return nil
}

func last(s []string) string { return s[len(s)-1] }

// followDeletions waits up to wait for the namespaces to go and appends to
// each one's outcomes what happened in this phase ("—" once gone before).
func (r *aggRig) followDeletions(ctx context.Context, held []nsDeletions, wait time.Duration) {
	start := time.Now()
	outcome := make([]string, len(held))
	for i := range held {
		if held[i].gone {
			outcome[i] = "—"
		}
	}
	_ = harness.Poll(ctx, wait, func() error {
		pending := 0
		for i := range held {
			if outcome[i] != "" {
				continue
			}
			if r.namespaceGone(ctx, held[i].Namespace) {
				held[i].gone = true
				outcome[i] = fmt.Sprintf("gone after %.1f s", time.Since(start).Seconds())
				continue
			}
			pending++
		}
		if pending > 0 {
			return fmt.Errorf("%d namespaces still there", pending)
		}
		return nil
	})
	for i := range held {
		if outcome[i] == "" {
			outcome[i] = fmt.Sprintf("**Terminating** after %.0f s (%s)", wait.Seconds(), r.namespaceConditions(ctx, held[i].Namespace))
		}
		held[i].Outcomes = append(held[i].Outcomes, outcome[i])
	}
}

func (r *aggRig) namespaceGone(ctx context.Context, name string) bool {
	err := r.w.app.Client.Get(ctx, keyOf(name), &corev1.Namespace{})
	return apierrors.IsNotFound(err)
}

// namespaceConditions names the true conditions of a terminating namespace
// (NamespaceDeletionDiscoveryFailure, NamespaceContentRemaining, ...).
func (r *aggRig) namespaceConditions(ctx context.Context, name string) string {
	ns := &corev1.Namespace{}
	if err := r.w.app.Client.Get(ctx, keyOf(name), ns); err != nil {
		return err.Error()
	}
	var out []string
	for _, c := range ns.Status.Conditions {
		if c.Status == corev1.ConditionTrue {
			out = append(out, string(c.Type))
		}
	}
	return strings.Join(out, ", ")
}

func keyOf(name string) client.ObjectKey { return client.ObjectKey{Name: name} }
