package harness

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// AddUser provisions a client-certificate identity with the given groups (no
// RBAC of its own: grant it with Roles and bindings, or put it in
// system:masters) and writes a kubeconfig for it to Dir/<name>.kubeconfig.
// It returns the client configuration and the kubeconfig path.
func (e *Env) AddUser(name string, groups ...string) (*rest.Config, string, error) {
	u, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return nil, "", fmt.Errorf("add user %s to cluster %s: %w", name, e.Name, err)
	}
	kc, err := u.KubeConfig()
	if err != nil {
		return nil, "", err
	}
	path := filepath.Join(e.Dir, name+".kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		return nil, "", fmt.Errorf("write kubeconfig of user %s: %w", name, err)
	}
	cfg := rest.CopyConfig(u.Config())
	cfg.WarningHandler = rest.NoWarnings{}
	return cfg, path, nil
}

// TokenConfig returns a client configuration for the cluster that
// authenticates with a bearer token (see the kube-apiserver flag
// --token-auth-file in EnvOptions.APIServerFlags) instead of the admin
// certificate.
func (e *Env) TokenConfig(token string) *rest.Config {
	cfg := rest.AnonymousClientConfig(e.Config)
	cfg.BearerToken = token
	return cfg
}
