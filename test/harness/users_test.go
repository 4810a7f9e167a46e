package harness

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestEnvIdentities checks the identities other than admin: a token from
// --token-auth-file and a certificate user from AddUser, both subject to RBAC.
func TestEnvIdentities(t *testing.T) {
	tokens := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(tokens, []byte("admin-token,token-admin,1,system:masters\nplain-token,token-plain,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := StartEnv(context.Background(), "identities", EnvOptions{APIServerFlags: map[string]string{"--token-auth-file": tokens}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Error(err)
		}
	})
	masterCfg, masterKubeconfig, err := e.AddUser("cert-admin", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	plainCfg, _, err := e.AddUser("cert-plain")
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := clientcmd.BuildConfigFromFlags("", masterKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		cfg           *rest.Config
		wantForbidden bool
	}{
		"TokenInSystemMasters":      {cfg: e.TokenConfig("admin-token")},
		"TokenWithoutRBAC":          {cfg: e.TokenConfig("plain-token"), wantForbidden: true},
		"CertificateInSystemMaster": {cfg: masterCfg},
		"CertificateKubeconfigFile": {cfg: fromFile},
		"CertificateWithoutRBAC":    {cfg: plainCfg, wantForbidden: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := client.New(tc.cfg, client.Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = c.List(context.Background(), &corev1.NamespaceList{})
			if got := apierrors.IsForbidden(err); got != tc.wantForbidden || (err != nil && !got) {
				t.Errorf("list namespaces: %v; want forbidden: %t", err, tc.wantForbidden)
			}
		})
	}
}
