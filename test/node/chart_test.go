package node

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// waitTimeout bounds each wait for the connector's pods or claims.
const waitTimeout = 3 * time.Minute

// TestHelmInstallOnNode installs the chart with `helm install --wait`, two
// replicas of the image from `make image`, against the control plane: the
// pods run as the chart says (in-cluster config, the chart's ServiceAccount
// and RBAC, user 65532, read-only root), their probes answer, a claim syncs
// through them, and deleting the leader's pod hands the Lease to another pod
// while claims keep syncing.
func TestHelmInstallOnNode(t *testing.T) {
	w, n := setup(t)
	repo, tag := splitImage(importConnectorImage(t, n))
	ns := harness.NewNamespace(t, w.App.Client)
	cpNS := harness.NewNamespace(t, w.ControlPlane.Client)
	secret := kubeconfigSecret(t, w.App.Client, ns, n.KubeconfigForPods(t, w.ControlPlane.Env))
	vals := map[string]any{
		"mcp":          map[string]any{"namespace": cpNS},
		"controlPlane": map[string]any{"kubeconfigSecret": map[string]any{"name": secret}},
		"replicaCount": 2,
		"image":        map[string]any{"repository": repo, "tag": tag, "pullPolicy": "Never"},
		"rbac":         map[string]any{"claimAPIGroups": []string{harness.ExampleGroup}},
	}
	start := time.Now()
	helm(t, "install", "conn", chartDir(t), "--namespace", ns, "--values", valuesFile(t, vals), "--wait", "--timeout=3m")
	t.Logf("helm install --wait: %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() { uninstall(t, cpNS, ns) })

	d := deployment(t, w.App.Client, ns)
	pods := checkPods(t, w.App.Client, d, 2)
	syncClaim(t, w.App.Client, "first")
	stopped := handOver(t, w.App.Client, d, "mcp-connector-"+cpNS, pods)
	syncClaim(t, w.App.Client, "after-handover")
	checkProbed(t, w.App.Client, d, stopped)
}

// TestCLIInstallOnNode installs the connector with `mcp-connector install`
// (which mints the cluster's identity in the control plane and waits for the
// API to be mirrored, here by the pod) and syncs a claim through it.
func TestCLIInstallOnNode(t *testing.T) {
	w, n := setup(t)
	repo, tag := splitImage(importConnectorImage(t, n))
	ns := harness.NewNamespace(t, w.App.Client)
	cpNS := "node-cli"
	out := connectorCLI(t, "install", "ctp1", cpNS, "-n", ns, "--control-plane-kubeconfig="+n.KubeconfigForPods(t, w.ControlPlane.Env),
		"--set", "image.repository="+repo, "--set", "image.tag="+tag, "--set", "image.pullPolicy=Never",
		"--set", "rbac.claimAPIGroups[0]="+harness.ExampleGroup, "--timeout=3m")
	t.Cleanup(func() { uninstall(t, cpNS, ns) })
	for _, want := range []string{"Installed Helm release", "API " + harness.ExampleClaimCRDName + ": Mirrored"} {
		if !strings.Contains(out, want) {
			t.Errorf("install output lacks %q:\n%s", want, out)
		}
	}
	d := deployment(t, w.App.Client, ns)
	checkPods(t, w.App.Client, d, 1)
	syncClaim(t, w.App.Client, "cli")
	checkProbed(t, w.App.Client, d, nil)
}

// uninstall runs `mcp-connector uninstall`, which scales the connector's pods
// down and removes the release, the local claims and the mirrored API.
func uninstall(t *testing.T, cpNS, ns string) {
	t.Helper()
	connectorCLI(t, "uninstall", cpNS, "-n", ns, "--timeout=2m")
}

// deployment returns the connector's one Deployment in ns.
func deployment(t *testing.T, c client.Client, ns string) *appsv1.Deployment {
	t.Helper()
	var list appsv1.DeploymentList
	if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d Deployments in %s, want 1", len(list.Items), ns)
	}
	return &list.Items[0]
}

// checkPods checks the Deployment's n pods: Ready (the readiness probe
// answers), never restarted (the liveness probe answers), running the
// connector as user 65532 on a read-only root file system with the chart's
// ServiceAccount and its token, and no kubeconfig of the app cluster (so
// in-cluster config).
func checkPods(t *testing.T, c client.Client, d *appsv1.Deployment, n int) []corev1.Pod {
	t.Helper()
	pods := readyPods(t, c, d, n)
	for _, p := range pods {
		cs := p.Status.ContainerStatuses[0]
		if cs.RestartCount != 0 {
			t.Errorf("pod %s restarted %d times (liveness probe?)", p.Name, cs.RestartCount)
		}
		if p.Spec.ServiceAccountName != d.Spec.Template.Spec.ServiceAccountName || p.Spec.ServiceAccountName == "default" {
			t.Errorf("pod %s runs as ServiceAccount %q, want the chart's", p.Name, p.Spec.ServiceAccountName)
		}
		for _, a := range p.Spec.Containers[0].Args {
			if strings.HasPrefix(a, "--kubeconfig") {
				t.Errorf("pod %s is given %s: want in-cluster config", p.Name, a)
			}
		}
		checkProcess(t, p.Name, cs.ContainerID)
	}
	return pods
}

// checkProbed waits until kubelet has run the liveness probe of a pod of
// the Deployment at least once (its first run plus one period), then fails
// the test for every failed probe kubelet reported (Unhealthy Events) and
// every restart; a readiness probe of a pod the test deleted (stopped) that
// failed only after the deletion is its shutdown's, not a failure.
func checkProbed(t *testing.T, c client.Client, d *appsv1.Deployment, stopped *deletedPod) {
	t.Helper()
	live := d.Spec.Template.Spec.Containers[0].LivenessProbe
	probed := time.Duration(live.InitialDelaySeconds+live.PeriodSeconds) * time.Second
	pods := readyPods(t, c, d, int(*d.Spec.Replicas))
	oldest := pods[0].Status.StartTime.Time
	for _, p := range pods {
		if p.Status.StartTime.Before(&metav1.Time{Time: oldest}) {
			oldest = p.Status.StartTime.Time
		}
	}
	harness.Eventually(t, probed+time.Minute, func() error {
		if age := time.Since(oldest); age < probed {
			return fmt.Errorf("oldest pod is %s old; the liveness probe has run once at %s", age.Round(time.Second), probed)
		}
		return nil
	})
	var events corev1.EventList
	if err := c.List(context.Background(), &events, client.InNamespace(d.Namespace)); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if stopped.shutdownProbe(e) {
			continue
		}
		if e.Reason == "Unhealthy" || e.Reason == "BackOff" {
			t.Errorf("%s %s: %s: %s", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
	for _, p := range readyPods(t, c, d, int(*d.Spec.Replicas)) {
		if n := p.Status.ContainerStatuses[0].RestartCount; n != 0 {
			t.Errorf("pod %s restarted %d times", p.Name, n)
		}
	}
}

// readyPods waits for the Deployment's n pods to be Ready and returns them.
func readyPods(t *testing.T, c client.Client, d *appsv1.Deployment, n int) []corev1.Pod {
	t.Helper()
	sel := labels.SelectorFromSet(d.Spec.Selector.MatchLabels)
	var pods []corev1.Pod
	harness.Eventually(t, waitTimeout, func() error {
		var list corev1.PodList
		if err := c.List(context.Background(), &list, client.InNamespace(d.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
			return err
		}
		pods = pods[:0]
		var states []string
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil && podReady(&p) {
				pods = append(pods, p)
			}
			states = append(states, p.Name+": "+string(p.Status.Phase)+" "+containerStates(&p))
		}
		if len(pods) != n {
			return fmt.Errorf("%d of %d pods Ready: %s", len(pods), n, strings.Join(states, "; "))
		}
		return nil
	})
	return pods
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// checkProcess finds the container's process on this machine (the node is
// this machine) and checks its user and its read-only root.
func checkProcess(t *testing.T, pod, containerID string) {
	t.Helper()
	id := containerID[strings.Index(containerID, "://")+3:]
	pid := containerPid(t, id)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" && f[1] != "65532" {
			t.Errorf("pod %s: the connector runs as uid %s, want 65532", pod, f[1])
		}
	}
	mounts, err := os.ReadFile(fmt.Sprintf("/proc/%d/mounts", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[1] == "/" && !strings.HasPrefix(f[3], "ro") {
			t.Errorf("pod %s: root file system mounted %s, want ro", pod, strings.SplitN(f[3], ",", 2)[0])
		}
	}
}

// containerPid is the host pid of a container's init process, which
// containerd's runc shim records in the task's state.
func containerPid(t *testing.T, id string) int {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(theNode.Dir, "containerd", "state", "io.containerd.runtime.v2.task", "k8s.io", id, "init.pid"))
	if len(matches) != 1 {
		t.Fatalf("no init.pid of container %s", id)
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// syncClaim creates an example claim in a new namespace and waits for it to
// be Ready, which only the connector's pods can make it.
func syncClaim(t *testing.T, c client.Client, name string) {
	t.Helper()
	claim := harness.NewExampleClaim(harness.NewNamespace(t, c), name, 1)
	if err := c.Create(context.Background(), claim); err != nil {
		t.Fatal(err)
	}
	harness.WaitForReadyClaim(t, c, harness.ExampleClaimGVK(), client.ObjectKeyFromObject(claim), waitTimeout)
}

// handOver deletes the pod that holds the Lease and waits for another pod
// to hold it.
func handOver(t *testing.T, c client.Client, d *appsv1.Deployment, lease string, pods []corev1.Pod) *deletedPod {
	t.Helper()
	leader := leaseHolder(t, c, d.Namespace, lease)
	var victim *corev1.Pod
	for i := range pods {
		if strings.HasPrefix(leader, pods[i].Name+"_") {
			victim = &pods[i]
		}
	}
	if victim == nil {
		t.Fatalf("Lease %s is held by %q, none of the pods", lease, leader)
	}
	start := time.Now()
	if err := c.Delete(context.Background(), victim); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, waitTimeout, func() error {
		if h := leaseHolder(t, c, d.Namespace, lease); h == leader || h == "" {
			return fmt.Errorf("Lease %s still held by %q", lease, h)
		}
		return nil
	})
	t.Logf("leader pod %s deleted; Lease taken by %s after %s", victim.Name, leaseHolder(t, c, d.Namespace, lease),
		time.Since(start).Round(time.Millisecond))
	return &deletedPod{name: victim.Name, at: start}
}

// deletedPod is a pod the test deleted, and when.
type deletedPod struct {
	name string
	at   time.Time
}

// shutdownProbe says whether e is a readiness probe of the deleted pod that
// failed first after its deletion: the kubelet probes a terminating pod
// until its container exits, so one probe may find the health endpoint
// already closed. A failure that began before the deletion still counts.
func (p *deletedPod) shutdownProbe(e corev1.Event) bool {
	if p == nil || e.Reason != "Unhealthy" || e.InvolvedObject.Name != p.name || !strings.HasPrefix(e.Message, "Readiness probe failed") {
		return false
	}
	first := e.FirstTimestamp.Time
	if first.IsZero() {
		first = e.EventTime.Time
	}
	return !first.Before(p.at.Truncate(time.Second)) // event times are in whole seconds
}

func leaseHolder(t *testing.T, c client.Client, ns, name string) string {
	t.Helper()
	var l coordinationv1.Lease
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &l); err != nil {
		t.Fatalf("Lease %s/%s: %v", ns, name, err)
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// kubeconfigSecret stores a kubeconfig file in a Secret of ns under key
// kubeconfig, as a user does before installing the chart.
func kubeconfigSecret(t *testing.T, c client.Client, ns, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "control-plane-kubeconfig"},
		Data: map[string][]byte{"kubeconfig": b}}
	if err := c.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s.Name
}

func chartDir(t *testing.T) string {
	t.Helper()
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "charts", "mcp-connector")
}

func valuesFile(t *testing.T, v map[string]any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// helm runs the pinned helm against the app cluster.
func helm(t *testing.T, args ...string) string {
	t.Helper()
	path, err := harness.HelmPath()
	if err != nil {
		t.Fatal(err)
	}
	return command(t, path, append(args, "--kubeconfig="+world.App.Kubeconfig)...)
}

// connectorCLI runs the connector built from this tree against the app
// cluster.
func connectorCLI(t *testing.T, args ...string) string {
	t.Helper()
	path, err := harness.BuildConnector()
	if err != nil {
		t.Fatal(err)
	}
	return command(t, path, append(args, "--kubeconfig="+world.App.Kubeconfig)...)
}

// command runs a command with no Helm configuration of whoever runs the
// tests, and fails the test with its output if it fails.
func command(t *testing.T, path string, args ...string) string {
	t.Helper()
	cmd := exec.Command(path, args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(path), strings.Join(args, " "), err, out.String())
	}
	return out.String()
}
