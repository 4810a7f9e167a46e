package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The control-plane credentials of a release, as the chart's values name
// them: exactly one of a token (Upbound), an existing kubeconfig Secret in
// Upbound's terms (mcp.secret), or one for any Crossplane
// (controlPlane.kubeconfigSecret).
const (
	credentialToken      = "token"
	credentialKubeconfig = "kubeconfig"
)

// releaseSettings are what install writes into, and uninstall reads back
// from, a release's values.
type releaseSettings struct {
	ControlPlaneNamespace string
	ControlPlaneName      string
	Connection            string
	ClusterID             string
	LeaderElect           bool
	LeaseNamespace        string
	Mode                  string
	// SecretName and SecretKey hold the kubeconfig (kubeconfig mode).
	SecretName, SecretKey string
	// Server, Token and CABundle are the token mode's.
	Server, Token, CABundle string
}

// settingsOf reads the settings from a release's computed values (chart
// defaults merged with the release's own) and its namespace.
func settingsOf(values map[string]any, releaseNamespace string) releaseSettings {
	s := releaseSettings{
		ControlPlaneNamespace: stringAt(values, "mcp", "namespace"),
		ControlPlaneName:      stringAt(values, "mcp", "name"),
		Connection:            stringAt(values, "connectionName"),
		ClusterID:             stringAt(values, "clusterID"),
		LeaseNamespace:        stringAt(values, "leaderElection", "namespace"),
		LeaderElect:           true,
	}
	if le, ok := values["leaderElection"].(map[string]any); ok {
		if on, ok := le["enabled"].(bool); ok {
			s.LeaderElect = on
		}
	}
	if s.Connection == "" {
		s.Connection = s.ControlPlaneNamespace
	}
	if s.LeaseNamespace == "" {
		s.LeaseNamespace = releaseNamespace
	}
	s.credentials(values)
	return s
}

// credentials reads the one credential of the release's values.
func (s *releaseSettings) credentials(values map[string]any) {
	switch {
	case stringAt(values, "mcp", "token") != "":
		s.Mode, s.Token, s.CABundle = credentialToken, stringAt(values, "mcp", "token"), stringAt(values, "mcp", "caBundle")
		s.Server = upboundURL(stringAt(values, "mcp", "baseURL"), stringAt(values, "mcp", "account"), s.ControlPlaneName)
	case stringAt(values, "mcp", "secret", "name") != "":
		s.Mode, s.SecretName, s.SecretKey = credentialKubeconfig, stringAt(values, "mcp", "secret", "name"), stringAt(values, "mcp", "secret", "key")
	default:
		s.Mode = credentialKubeconfig
		s.SecretName, s.SecretKey = stringAt(values, "controlPlane", "kubeconfigSecret", "name"), stringAt(values, "controlPlane", "kubeconfigSecret", "key")
	}
	if s.SecretKey == "" {
		s.SecretKey = "kubeconfig"
	}
}

// upboundURL is the control plane's URL behind Upbound's proxy, as the chart
// builds it.
func upboundURL(baseURL, account, name string) string {
	return strings.TrimSuffix(baseURL, "/") + "/" + account + "/" + name + "/k8s"
}

// controlPlaneConfig builds a client configuration for the control plane
// from the settings, reading the kubeconfig Secret from the app cluster.
func (s releaseSettings) controlPlaneConfig(ctx context.Context, app client.Client, releaseNamespace, version string) (*rest.Config, error) {
	if s.Mode == credentialToken {
		return tokenConfig(s.Server, s.Token, s.CABundle, version), nil
	}
	if s.SecretName == "" {
		return nil, errors.New("the release names no control-plane credentials")
	}
	secret := &corev1.Secret{}
	if err := app.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: s.SecretName}, secret); err != nil {
		return nil, fmt.Errorf("read the control-plane kubeconfig from Secret %s/%s: %w", releaseNamespace, s.SecretName, err)
	}
	kc, ok := secret.Data[s.SecretKey]
	if !ok {
		return nil, fmt.Errorf("the Secret %s/%s has no key %q holding the control plane's kubeconfig", releaseNamespace, s.SecretName, s.SecretKey)
	}
	return kubeconfigConfig(kc, version)
}

func tokenConfig(server, token, caBundle, version string) *rest.Config {
	return cliConfig(&rest.Config{Host: server, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: []byte(caBundle)}}, version)
}

func kubeconfigConfig(kubeconfig []byte, version string) (*rest.Config, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("read the control plane's kubeconfig: %w", err)
	}
	return cliConfig(cfg, version), nil
}

// selfContainedKubeconfig reads a kubeconfig file and returns one context of
// it, with every certificate and token embedded, as the chart needs it: the
// context named preferred if there is one, else the current context.
func selfContainedKubeconfig(path, preferred string) ([]byte, string, error) {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read control-plane kubeconfig %s: %w", path, err)
	}
	if _, ok := cfg.Contexts[preferred]; ok && preferred != "" {
		cfg.CurrentContext = preferred
	}
	if err := clientcmdapi.MinifyConfig(cfg); err != nil {
		return nil, "", fmt.Errorf("control-plane kubeconfig %s: %w", path, err)
	}
	if err := clientcmdapi.FlattenConfig(cfg); err != nil {
		return nil, "", fmt.Errorf("embed the files control-plane kubeconfig %s refers to: %w", path, err)
	}
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, "", err
	}
	return b, cfg.CurrentContext, nil
}
