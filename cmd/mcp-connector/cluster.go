//go:build !runonly

package main

import (
	"github.com/spf13/pflag"

	"github.com/mcp-connector/mcp-connector/cmd/lifecycle"
)

// DefaultReleaseNamespace is where `install` puts the release unless told.
const DefaultReleaseNamespace = "mcp-connector-system"

// addClusterFlags binds the flags that select the app cluster and the
// release namespace, as helm and kubectl name them.
func addClusterFlags(fs *pflag.FlagSet, c *lifecycle.Cluster) {
	fs.StringVar(&c.Kubeconfig, "kubeconfig", c.Kubeconfig, "Kubeconfig of the app cluster (default: $KUBECONFIG, else ~/.kube/config).")
	fs.StringVar(&c.Context, "context", c.Context, "Context of the kubeconfig to use (default: its current context).")
	fs.StringVarP(&c.Namespace, "namespace", "n", c.Namespace, "Namespace of the Helm release in the app cluster.")
}
