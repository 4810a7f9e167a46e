package soak

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// appNamespaces hold the schedule's claims in the app cluster.
var appNamespaces = []string{"soak-a", "soak-b"}

// rig is the world of one run: the proxy between the connectors and the
// control plane, the connector configuration and the two replicas.
type rig struct {
	proxy     *harness.FaultProxy
	cfg       harness.ConnectorConfig
	dir       string
	namespace string
	clusterID string
	replicas  [2]*harness.Connector
	all       []*harness.Connector
}

func newRig(dir string) (*rig, error) {
	ctx := context.Background()
	cpURL, err := url.Parse(world.ControlPlane.Config.Host)
	if err != nil {
		return nil, err
	}
	r := &rig{dir: dir, namespace: "soak-cluster", clusterID: "soak"}
	if r.proxy, err = harness.StartFaultProxy(cpURL.Host); err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(dir, "control-plane-via-proxy.kubeconfig")
	if err := harness.WriteProxiedKubeconfig(world.ControlPlane.Kubeconfig, kubeconfig, r.proxy.Addr()); err != nil {
		return nil, err
	}
	for _, ns := range appNamespaces {
		if err := world.App.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return nil, err
		}
	}
	if err := world.ControlPlane.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.namespace}}); err != nil {
		return nil, err
	}
	if r.cfg, err = harness.NewConnectorConfig(world.App, world.ControlPlane.Env, r.namespace, r.clusterID); err != nil {
		return nil, err
	}
	r.cfg.ControlPlaneKubeconfig = kubeconfig
	r.cfg.LeaderElect = true
	r.cfg.ExtraArgs = []string{"--probe-interval=1s", "--resync-period=10s"}
	for i := range r.replicas {
		if err := r.startReplica(i); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// startReplica starts replica i on metrics and probe ports of its own.
func (r *rig) startReplica(i int) error {
	cfg := r.cfg
	var err error
	if cfg.MetricsAddr, err = harness.FreeLoopbackAddr(); err != nil {
		return err
	}
	if cfg.HealthAddr, err = harness.FreeLoopbackAddr(); err != nil {
		return err
	}
	p, err := harness.StartConnector(context.Background(), r.dir, cfg.Args()...)
	if err != nil {
		return fmt.Errorf("start connector replica %d: %w", i, err)
	}
	r.replicas[i] = &harness.Connector{Process: p, Config: cfg}
	r.all = append(r.all, r.replicas[i])
	return nil
}

// leader returns the index of the replica that says it leads, or -1.
func (r *rig) leader() int {
	for i, c := range r.replicas {
		text, err := c.Scrape()
		if err != nil {
			continue
		}
		// The app cluster's Lease (named after the connection, which is the
		// control-plane namespace here), not the cluster-id Lease that the
		// leader also holds in the control plane.
		if v, ok := harness.MetricSum(text, "leader_election_master_status", `name="mcp-connector-`+c.Config.ControlPlaneNamespace+`"`); ok && v == 1 {
			return i
		}
	}
	return -1
}

// restartExited starts again every replica that exited by itself (as a
// kubelet would), and returns how many did.
func (r *rig) restartExited() (int, error) {
	n := 0
	for i, c := range r.replicas {
		if exited, _ := c.Exited(); exited {
			n++
			if err := r.startReplica(i); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (r *rig) stop() {
	for _, c := range r.all {
		_ = c.Stop()
	}
	_ = r.proxy.Close()
}
