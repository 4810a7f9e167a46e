package harness

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestEnvRestartsAPIServer checks that an Env survives a restart of its
// kube-apiserver: same address, same credentials, same data.
func TestEnvRestartsAPIServer(t *testing.T) {
	ctx := context.Background()
	e, err := StartEnv(ctx, "restart", EnvOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Error(err)
		}
	})
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "survivor"}}
	if err := e.Client.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}

	if err := e.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	if err := e.Client.Get(ctx, client.ObjectKeyFromObject(cm), cm); err == nil {
		t.Fatal("kube-apiserver still answers after StopAPIServer")
	}
	if err := e.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 30*time.Second, func() error {
		return e.Client.Get(ctx, client.ObjectKeyFromObject(cm), cm)
	})
	cfg, err := clientcmd.BuildConfigFromFlags("", e.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := fromFile.Get(ctx, client.ObjectKeyFromObject(cm), cm); err != nil {
		t.Fatalf("get with the kubeconfig file after the restart: %v", err)
	}
}
