package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// LocalPod is the first container of a Deployment's pod template run as a
// local connector process, as the kubelet would run it (see StartPod).
type LocalPod struct {
	// Name is the pod name the process was given (the downward API's
	// metadata.name).
	Name string
	// Process is the running connector.
	Process *Process
	// Addrs maps the container's port names to the loopback addresses the
	// process binds instead.
	Addrs map[string]string
}

// StartPod runs the connector with the arguments and environment of the
// Deployment's first container: Secret volumes are written to local
// directories (MountSecrets), container ports are bound to free loopback
// addresses (LocalArgs), the environment is set (SetPodEnv, with pod name
// name) and KUBECONFIG, the pod's in-cluster config, is kubeconfig (see
// ServiceAccountKubeconfig). c reads the Secrets. The process is stopped when
// the test ends, and its last log lines are logged if the test failed.
func StartPod(t testing.TB, c client.Client, d *appsv1.Deployment, name, kubeconfig string) *LocalPod {
	t.Helper()
	container := d.Spec.Template.Spec.Containers[0]
	mounts := MountSecrets(t, c, d)
	pod := &LocalPod{Name: name, Addrs: map[string]string{}}
	portAddr := map[string]string{}
	for _, p := range container.Ports {
		addr, err := FreeLoopbackAddr()
		if err != nil {
			t.Fatal(err)
		}
		pod.Addrs[p.Name], portAddr[fmt.Sprintf(":%d", p.ContainerPort)] = addr, addr
	}
	args := LocalArgs(t, container.Args, mounts, portAddr)
	SetPodEnv(t, container, d.Namespace, name)
	t.Setenv("KUBECONFIG", kubeconfig)
	p, err := StartConnector(context.Background(), t.TempDir(), args...)
	if err != nil {
		t.Fatal(err)
	}
	pod.Process = p
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("--- last lines of %s (%s) ---\n%s", p.LogPath(), name, p.Tail(60))
		}
	})
	return pod
}

// MountSecrets writes the Secret volumes of the Deployment's first container
// into local directories, read with c, and returns them keyed by mount path.
// Other kinds of volume, and items naming missing keys, fail the test.
func MountSecrets(t testing.TB, c client.Client, d *appsv1.Deployment) map[string]string {
	t.Helper()
	volumes := map[string]corev1.Volume{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	out := map[string]string{}
	for _, vm := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		v := volumes[vm.Name]
		if v.Secret == nil {
			t.Fatalf("volume %s is not a Secret volume: the test cannot mount it", vm.Name)
		}
		s := &corev1.Secret{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: d.Namespace, Name: v.Secret.SecretName}, s); err != nil {
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
			data, ok := s.Data[it.Key]
			if !ok {
				t.Fatalf("Secret %s has no key %s (volume %s)", s.Name, it.Key, vm.Name)
			}
			if err := os.WriteFile(filepath.Join(dir, it.Path), data, 0o400); err != nil {
				t.Fatal(err)
			}
		}
		out[vm.MountPath] = dir
	}
	return out
}

var bindAddr = regexp.MustCompile(`^(--[a-z-]+=)(:\d+)$`)

// LocalArgs rewrites a container's arguments for a local process: paths
// under a mount path (a key of mounts) move to its local directory, and an
// argument --flag=:<port> binds portAddr[":<port>"] instead, which must
// exist. Nothing else changes.
func LocalArgs(t testing.TB, in []string, mounts, portAddr map[string]string) []string {
	t.Helper()
	out := make([]string, 0, len(in))
	for _, a := range in {
		for mountPath, dir := range mounts {
			a = strings.ReplaceAll(a, "="+mountPath+"/", "="+dir+"/")
		}
		if m := bindAddr.FindStringSubmatch(a); m != nil {
			addr, ok := portAddr[m[2]]
			if !ok {
				t.Fatalf("argument %s binds %s, which is no container port", a, m[2])
			}
			a = m[1] + addr
		}
		out = append(out, a)
	}
	return out
}

// SetPodEnv sets a container's environment for the processes the test
// starts next: plain values, the downward API's metadata.namespace and
// metadata.name as namespace and pod, and the container's limits.memory in
// bytes (left unset without a limit: the kubelet would give the node's
// memory, which a process on this host has anyway). Other sources fail the
// test.
func SetPodEnv(t testing.TB, container corev1.Container, namespace, pod string) {
	t.Helper()
	for _, e := range container.Env {
		switch {
		case e.ValueFrom == nil:
			t.Setenv(e.Name, e.Value)
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			t.Setenv(e.Name, namespace)
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			t.Setenv(e.Name, pod)
		case e.ValueFrom.ResourceFieldRef != nil && e.ValueFrom.ResourceFieldRef.Resource == "limits.memory" &&
			(e.ValueFrom.ResourceFieldRef.Divisor.IsZero() || e.ValueFrom.ResourceFieldRef.Divisor.Value() == 1):
			if limit, ok := container.Resources.Limits[corev1.ResourceMemory]; ok {
				t.Setenv(e.Name, strconv.FormatInt(limit.Value(), 10))
			}
		default:
			t.Fatalf("environment variable %s comes from %+v: the test cannot provide it", e.Name, e.ValueFrom)
		}
	}
}

// ServiceAccountKubeconfig writes a kubeconfig for cluster env that
// authenticates as ServiceAccount ns/sa with an hour's token from the
// TokenRequest API (what a pod's in-cluster config holds), and returns its
// path in a temporary directory of the test.
func ServiceAccountKubeconfig(t testing.TB, env *Env, ns, sa string) string {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
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
	cfg.Clusters["app"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.CAData}
	cfg.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["sa"] = &clientcmdapi.Context{Cluster: "app", AuthInfo: "sa"}
	cfg.CurrentContext = "sa"
	path := filepath.Join(t.TempDir(), "serviceaccount.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}
