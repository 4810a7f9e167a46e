package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	gosync "sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// waitTimeout bounds every wait for the connector, Crossplane or the CLI.
const waitTimeout = 3 * time.Minute

// command is a run of the mcp-connector binary.
type command struct {
	args []string
	cmd  *exec.Cmd
	mu   gosync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

// Write collects stdout and stderr together, as a user sees them.
func (c *command) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

// Output is what the command printed so far.
func (c *command) Output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

// startCLI starts the built binary with args against the app cluster and
// returns at once; Wait collects it. It is killed if the test ends first.
func startCLI(t *testing.T, args ...string) *command {
	t.Helper()
	path, err := harness.BuildConnector()
	if err != nil {
		t.Fatal(err)
	}
	c := &command{args: args, done: make(chan struct{})}
	c.cmd = exec.Command(path, append(args, "--kubeconfig="+world.App.Kubeconfig)...)
	c.cmd.Stdout, c.cmd.Stderr = c, c
	// No Helm configuration of whoever runs the tests.
	home := t.TempDir()
	c.cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

// Wait waits for the command to end and fails the test if it failed.
func (c *command) Wait(t *testing.T) string {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(waitTimeout):
		t.Fatalf("mcp-connector %s did not end within %s; output:\n%s", strings.Join(c.args, " "), waitTimeout, c.Output())
	}
	if c.err != nil {
		t.Fatalf("mcp-connector %s: %v; output:\n%s", strings.Join(c.args, " "), c.err, c.Output())
	}
	t.Logf("mcp-connector %s:\n%s", strings.Join(c.args, " "), c.Output())
	return c.Output()
}

// Fail waits for the command to end and fails the test unless it failed
// with an output containing want.
func (c *command) Fail(t *testing.T, want string) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(waitTimeout):
		t.Fatalf("mcp-connector %s did not end within %s", strings.Join(c.args, " "), waitTimeout)
	}
	if c.err == nil || !strings.Contains(c.Output(), want) {
		t.Errorf("mcp-connector %s: %v, output:\n%s\nwant it to fail saying %q", strings.Join(c.args, " "), c.err, c.Output(), want)
	}
}

// runCLI runs the binary to its end.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	return startCLI(t, args...).Wait(t)
}

// checkOutput fails the test for each wanted line fragment missing in out.
func checkOutput(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// runDeployment runs the release's Deployment as the kubelet would run its
// one pod, as a local process: the Deployment's arguments with Secret
// volumes written to local directories, container ports bound to free
// loopback addresses, the downward API's POD_NAMESPACE, and a token of the
// Deployment's ServiceAccount as its in-cluster credentials (the chart's
// RBAC, nothing more). It waits for the Deployment to exist first.
func runDeployment(t *testing.T, namespace, name string) *harness.Process {
	t.Helper()
	c := world.App.Client
	d := &appsv1.Deployment{}
	harness.Eventually(t, waitTimeout, func() error {
		return c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, d)
	})
	container := d.Spec.Template.Spec.Containers[0]
	args := localArgs(t, container.Args, mountSecrets(t, d), bindAddrs(t, container.Ports))
	for _, e := range container.Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace" {
			t.Setenv(e.Name, namespace)
		}
	}
	t.Setenv("KUBECONFIG", serviceAccountKubeconfig(t, namespace, d.Spec.Template.Spec.ServiceAccountName))
	p, err := harness.StartConnector(context.Background(), t.TempDir(), args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("--- last lines of %s ---\n%s", p.LogPath(), p.Tail(60))
		}
	})
	return p
}

// mountSecrets writes the Secret volumes of the pod into local directories,
// keyed by mount path.
func mountSecrets(t *testing.T, d *appsv1.Deployment) map[string]string {
	t.Helper()
	volumes := map[string]corev1.Volume{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	out := map[string]string{}
	for _, vm := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		v := volumes[vm.Name]
		if v.Secret == nil {
			t.Fatalf("volume %s is not a Secret volume", vm.Name)
		}
		s := &corev1.Secret{}
		if err := world.App.Client.Get(context.Background(), client.ObjectKey{Namespace: d.Namespace, Name: v.Secret.SecretName}, s); err != nil {
			t.Fatalf("read Secret %s of volume %s: %v", v.Secret.SecretName, vm.Name, err)
		}
		dir := t.TempDir()
		items := v.Secret.Items
		if len(items) == 0 {
			for k := range s.Data {
				items = append(items, corev1.KeyToPath{Key: k, Path: k})
			}
		}
		for _, it := range items {
			if err := os.WriteFile(filepath.Join(dir, it.Path), s.Data[it.Key], 0o400); err != nil {
				t.Fatal(err)
			}
		}
		out[vm.MountPath] = dir
	}
	return out
}

// bindAddrs maps ":<container port>" to a free loopback address.
func bindAddrs(t *testing.T, ports []corev1.ContainerPort) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range ports {
		addr, err := harness.FreeLoopbackAddr()
		if err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf(":%d", p.ContainerPort)] = addr
	}
	return out
}

var bindAddr = regexp.MustCompile(`^(--[a-z-]+=)(:\d+)$`)

// localArgs rewrites mount paths and bind addresses; nothing else changes.
func localArgs(t *testing.T, in []string, mounts, addrs map[string]string) []string {
	t.Helper()
	out := make([]string, 0, len(in))
	for _, a := range in {
		for mountPath, dir := range mounts {
			a = strings.ReplaceAll(a, "="+mountPath+"/", "="+dir+"/")
		}
		if m := bindAddr.FindStringSubmatch(a); m != nil {
			addr, ok := addrs[m[2]]
			if !ok {
				t.Fatalf("argument %s binds %s, which is no container port", a, m[2])
			}
			a = m[1] + addr
		}
		out = append(out, a)
	}
	return out
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates as the
// ServiceAccount with a token from the TokenRequest API.
func serviceAccountKubeconfig(t *testing.T, ns, sa string) string {
	t.Helper()
	cs, err := kubernetes.NewForConfig(world.App.Config)
	if err != nil {
		t.Fatal(err)
	}
	expiry := int64(3600)
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), sa,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create a token for ServiceAccount %s/%s: %v", ns, sa, err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["app"] = &clientcmdapi.Cluster{Server: world.App.Config.Host, CertificateAuthorityData: world.App.Config.CAData}
	cfg.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["sa"] = &clientcmdapi.Context{Cluster: "app", AuthInfo: "sa"}
	cfg.CurrentContext = "sa"
	path := filepath.Join(t.TempDir(), "serviceaccount.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitScaledToZero waits until uninstall scaled the Deployment to zero: the
// moment the kubelet would stop the pod.
func waitScaledToZero(t *testing.T, namespace, name string) {
	t.Helper()
	harness.Eventually(t, waitTimeout, func() error {
		d := &appsv1.Deployment{}
		if err := world.App.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, d); err != nil {
			return err
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 0 {
			return fmt.Errorf("deployment %s/%s not scaled to 0 yet", namespace, name)
		}
		return nil
	})
}
