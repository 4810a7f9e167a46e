package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// cpSample is the control plane over one measurement window.
type cpSample struct {
	// APIServerRSS and EtcdRSS are the processes' RSS at the window's end.
	APIServerRSS int64 `json:"apiServerRSSBytes"`
	EtcdRSS      int64 `json:"etcdRSSBytes"`
	// Cores is the kube-apiserver's CPU over the window, in cores;
	// EtcdCores etcd's.
	Cores     float64 `json:"cores"`
	EtcdCores float64 `json:"etcdCores"`
	// ServedPerMin is every request the kube-apiserver served, a minute.
	ServedPerMin float64 `json:"servedPerMin"`
	// Ops is how many claim changes the churn made in the window.
	Ops int `json:"ops"`
	serverGauges
}

// clusterResult is the control plane with Clusters app clusters connected.
type clusterResult struct {
	Clusters int `json:"clusters"`
	// Claims is the claims in every app cluster at rest.
	Claims int `json:"claims"`
	// Rest: no change anywhere; Churn: claims created, updated and deleted
	// in the app clusters at the churn rate; BaselineChurn: the same changes
	// made directly in the control plane by a bare client, the connectors
	// at rest alongside.
	Rest, Churn, BaselineChurn cpSample
	// ConvergeSeconds is from the churn's end until every control-plane
	// namespace holds as many claims as its app cluster.
	ConvergeSeconds float64 `json:"convergeSeconds"`
	// ConnectorRSS is the mean RSS of the connectors; AppAPIServerRSS the
	// RSS of the first app cluster's kube-apiserver (memory accounting).
	ConnectorRSS    int64  `json:"connectorRSSBytes"`
	AppAPIServerRSS int64  `json:"appAPIServerRSSBytes"`
	Load            string `json:"load"`
}

// appCluster is one app cluster of the many-clusters run.
type appCluster struct {
	w    *world
	id   string
	conn *connector
	// local are the claims it holds; churned those the churn created, oldest
	// first.
	local   []claimRef
	churned []claimRef
	next    int
}

// cpFleet is the control plane and its app clusters.
type cpFleet struct {
	cp             *harness.Env
	cpDyn          dynamic.Interface
	cpPID, etcdPID int
	apps           []*appCluster
	// baseline holds the objects the baseline churn updates and deletes.
	baseline []claimRef
	bnext    int
}

func (f *cpFleet) stop() {
	for _, a := range f.apps {
		if a.conn != nil {
			a.conn.stop()
		}
	}
	for _, a := range f.apps {
		_ = a.w.app.Stop()
	}
	if f.cp != nil {
		_ = f.cp.Stop()
	}
}

// scaleClusters connects more and more app clusters to one control plane and
// measures it at rest, under churn and under the baseline's churn.
func (b *bench) scaleClusters(ctx context.Context, res *scaleResults, save func() error) error {
	levels := slices.Clone([]int(scaleOpts.Clusters))
	slices.Sort(levels)
	f := &cpFleet{}
	defer f.stop()
	var err error
	if f.cp, err = startControlPlaneEnv(ctx, "bench-scale-control-plane", nil); err != nil {
		return err
	}
	if err := installKinds(ctx, f.cp, kinds); err != nil {
		return err
	}
	if f.cpDyn, err = dynamic.NewForConfig(unlimited(f.cp.Config)); err != nil {
		return err
	}
	if f.cpPID, f.etcdPID, err = serverPIDs(f.cp); err != nil {
		return err
	}
	if err := f.cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: baselineNamespace}}); err != nil {
		return err
	}
	f.baseline = spreadOver("base", 100, []string{baselineNamespace}, kinds)
	if err := createClaims(ctx, f.cpDyn, f.baseline, b.o.Workers); err != nil {
		return err
	}
	idle, err := f.sample(ctx, nil)
	if err != nil {
		return err
	}
	res.IdleCP = &idle
	b.logf("scale: idle control plane: kube-apiserver %.0f MiB, %.3f cores", mib(idle.APIServerRSS), idle.Cores)
	for _, n := range levels {
		if err := b.growFleet(ctx, f, n); err != nil {
			return err
		}
		r := clusterResult{Clusters: n, Claims: scaleOpts.ClusterClaims}
		if r.Rest, err = f.sample(ctx, nil); err != nil {
			return err
		}
		if r.Churn, err = f.sample(ctx, f.churnApps); err != nil {
			return err
		}
		churnEnd := time.Now()
		if err := f.converged(ctx); err != nil {
			return err
		}
		r.ConvergeSeconds = time.Since(churnEnd).Seconds()
		if r.BaselineChurn, err = f.sample(ctx, f.churnBaseline); err != nil {
			return err
		}
		for _, a := range f.apps {
			p, err := readProcStats(a.conn.pid())
			if err != nil {
				return err
			}
			r.ConnectorRSS += p.RSS / int64(len(f.apps))
		}
		if pid, _, err := serverPIDs(f.apps[0].w.app); err == nil {
			if p, err := readProcStats(pid); err == nil {
				r.AppAPIServerRSS = p.RSS
			}
		}
		r.Load = loadavg()
		b.logf("scale: %d clusters: kube-apiserver %.0f MiB, %.3f cores at rest, %.3f under churn (baseline churn %.3f), %0.f watches",
			n, mib(r.Rest.APIServerRSS), r.Rest.Cores, r.Churn.Cores, r.BaselineChurn.Cores, r.Rest.Watches)
		res.Clusters = append(res.Clusters, r)
		if err := save(); err != nil {
			return err
		}
	}
	return nil
}

// growFleet adds app clusters, each with its connector and its claims,
// until there are n, and waits until every claim exists in the control
// plane.
func (b *bench) growFleet(ctx context.Context, f *cpFleet, n int) error {
	var added []string
	for i := len(f.apps); i < n; i++ {
		if avail := memAvailableMiB(); avail < scaleOpts.MinAvailable {
			return fmt.Errorf("only %d MiB of memory available, below --scale-min-available-mib=%d: stopped at %d app clusters", avail, scaleOpts.MinAvailable, i)
		}
		a, err := b.startAppCluster(ctx, f, i)
		if err != nil {
			return fmt.Errorf("app cluster %d: %w", i, err)
		}
		added = append(added, a.id)
	}
	if len(added) == 0 {
		return nil
	}
	b.logf("scale: %d app clusters started; waiting for their claims in the control plane", n)
	return f.converged(ctx)
}

func (b *bench) startAppCluster(ctx context.Context, f *cpFleet, i int) (*appCluster, error) {
	id := fmt.Sprintf("bench-c%02d", i)
	app, err := harness.StartEnv(ctx, "bench-scale-app-"+id, harness.EnvOptions{APIServerFlags: parseFlagMap(scaleOpts.AppFlags)})
	if err != nil {
		return nil, err
	}
	a := &appCluster{w: &world{app: app, cp: f.cp, cpDyn: f.cpDyn}, id: id}
	f.apps = append(f.apps, a)
	if a.w.appDyn, err = dynamic.NewForConfig(unlimited(app.Config)); err != nil {
		return nil, err
	}
	if err := f.cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: id}}); err != nil {
		return nil, err
	}
	nss := namespaces("bench", 2)
	if err := a.w.createLocalNamespaces(ctx, nss); err != nil {
		return nil, err
	}
	if a.conn, err = startConnectorAs(b.bin, a.w, id, id, b.o, connectorArgs(b.o, 10*time.Hour), b.logPath("scale-"+id)); err != nil {
		return nil, err
	}
	if err := waitCRDs(ctx, app, 2*time.Minute); err != nil {
		return nil, fmt.Errorf("connector did not mirror the claim APIs: %w", err)
	}
	a.local = spreadOver("claim", scaleOpts.ClusterClaims, nss, kinds)
	return a, createClaims(ctx, a.w.appDyn, a.local, b.o.Workers)
}

// converged waits until each app cluster's control-plane namespace holds as
// many claims as it does, and no more.
func (f *cpFleet) converged(ctx context.Context) error {
	want := map[string]int{}
	for _, a := range f.apps {
		want[a.id] = len(a.local)
	}
	var last string
	err := wait.PollUntilContextTimeout(ctx, time.Second, syncTimeout(len(f.apps)*scaleOpts.ClusterClaims), true, func(ctx context.Context) (bool, error) {
		got := map[string]int{}
		for _, k := range kinds {
			list, err := f.cpDyn.Resource(k.GVR()).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err
			}
			for _, u := range list.Items {
				got[u.GetNamespace()]++
			}
		}
		var off []string
		for id, n := range want {
			if got[id] != n {
				off = append(off, fmt.Sprintf("%s %d of %d", id, got[id], n))
			}
		}
		last = strings.Join(off, ", ")
		return len(off) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("control-plane namespaces not converged (%s): %w", last, err)
	}
	return nil
}

// sample measures the control plane over one window while load runs (nil:
// at rest).
func (f *cpFleet) sample(ctx context.Context, load func(ctx context.Context, window time.Duration) (int, error)) (cpSample, error) {
	var s cpSample
	before, err := f.read(ctx)
	if err != nil {
		return s, err
	}
	start := time.Now()
	if load == nil {
		err = window(ctx, scaleOpts.Window)
	} else {
		s.Ops, err = load(ctx, scaleOpts.Window)
	}
	if err != nil {
		return s, err
	}
	elapsed := time.Since(start)
	after, err := f.read(ctx)
	if err != nil {
		return s, err
	}
	if s.serverGauges, err = readServerGauges(ctx, f.cp); err != nil {
		return s, err
	}
	s.APIServerRSS, s.EtcdRSS = after.api.RSS, after.etcd.RSS
	s.Cores, s.EtcdCores = cpuCores(before.api, after.api, elapsed), cpuCores(before.etcd, after.etcd, elapsed)
	s.ServedPerMin = after.served.served(before.served) / elapsed.Minutes()
	return s, nil
}

// cpReading is the control plane's processes and served requests at one
// moment.
type cpReading struct {
	api, etcd procStats
	served    serverRequests
}

func (f *cpFleet) read(ctx context.Context) (cpReading, error) {
	var r cpReading
	var err error
	if r.api, err = readProcStats(f.cpPID); err != nil {
		return r, err
	}
	if r.etcd, err = readProcStats(f.etcdPID); err != nil {
		return r, err
	}
	r.served, err = readServerRequests(ctx, f.cp)
	return r, err
}

// churn makes one change every 1/(rate × clusters) seconds for d: a
// create, an update, a delete in turn, spread over the clusters; op makes
// change i.
func (f *cpFleet) churn(ctx context.Context, d time.Duration, op func(ctx context.Context, i int) error) (int, error) {
	rate := scaleOpts.ChurnRate * float64(len(f.apps))
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	end := time.After(d)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return i, ctx.Err()
		case <-end:
			return i, nil
		case <-tick.C:
		}
		if err := op(ctx, i); err != nil {
			return i, err
		}
	}
}

// churnApps changes claims in the app clusters.
func (f *cpFleet) churnApps(ctx context.Context, d time.Duration) (int, error) {
	return f.churn(ctx, d, func(ctx context.Context, i int) error {
		a := f.apps[i%len(f.apps)]
		return churnOp(ctx, a.w.appDyn, (i/len(f.apps))%3, &a.local, &a.churned, &a.next, a.id)
	})
}

// churnBaseline makes the same changes directly in the control plane.
func (f *cpFleet) churnBaseline(ctx context.Context, d time.Duration) (int, error) {
	var churned []claimRef
	return f.churn(ctx, d, func(ctx context.Context, i int) error {
		return churnOp(ctx, f.cpDyn, (i/len(f.apps))%3, &f.baseline, &churned, &f.bnext, "baseline")
	})
}

// churnOp makes change op (0 create, 1 update, 2 delete) among claims;
// churned are those the churn created, which the deletes take, oldest
// first. next numbers the creates and picks the claim to update.
func churnOp(ctx context.Context, dyn dynamic.Interface, op int, claims, churned *[]claimRef, next *int, who string) error {
	*next++
	switch {
	case op == 0 || (op == 2 && len(*churned) == 0):
		base := (*claims)[*next%len(*claims)]
		c := claimRef{kind: base.kind, namespace: base.namespace, name: fmt.Sprintf("churn-%06d", *next)}
		if _, err := dyn.Resource(c.kind.GVR()).Namespace(c.namespace).Create(ctx, newClaim(c, 1), createOpts); err != nil {
			return fmt.Errorf("%s: churn create: %w", who, err)
		}
		*claims = append(*claims, c)
		*churned = append(*churned, c)
	case op == 1:
		c := (*claims)[*next%len(*claims)]
		body := fmt.Sprintf(`{"spec":{"replicas":%d}}`, 2+*next%5)
		if err := mergePatch(ctx, dyn.Resource(c.kind.GVR()).Namespace(c.namespace), c.name, body); err != nil {
			return fmt.Errorf("%s: churn update: %w", who, err)
		}
	default:
		c := (*churned)[0]
		*churned = (*churned)[1:]
		*claims = slices.DeleteFunc(*claims, func(x claimRef) bool { return x == c })
		if err := dyn.Resource(c.kind.GVR()).Namespace(c.namespace).Delete(ctx, c.name, metav1.DeleteOptions{}); err != nil {
			return fmt.Errorf("%s: churn delete: %w", who, err)
		}
	}
	return nil
}
