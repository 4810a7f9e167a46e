package main

import (
	"fmt"
	"strings"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// printTryThis prints the kubectl commands that show the connector at work:
// the claim of examples/my-cluster.yaml and the namespaced XR of
// examples/database.yaml, each Ready with its Secret.
func printTryThis(d demoDir, conn connector) {
	app := "kubectl --kubeconfig " + rel(d.appKubeconfig())
	cp := "kubectl --kubeconfig " + rel(d.controlPlaneKubeconfig())
	var b strings.Builder
	fmt.Fprintf(&b, "\nThe demo is up (Crossplane v2). Logs: %s/{app,control-plane}/*.log", rel(d.root))
	if conn.process != nil {
		fmt.Fprintf(&b, ", %s", rel(conn.process.LogPath()))
	}
	fmt.Fprintf(&b, "\n\nThe APIs of the control plane, mirrored into the app cluster (a claim and a namespaced XR):\n")
	fmt.Fprintf(&b, "  %s api-resources | grep starter\n", app)
	fmt.Fprintf(&b, "\nClaim a cluster in the app cluster, and watch it become Ready with its connection Secret:\n")
	fmt.Fprintf(&b, "  %s apply -f examples/%s\n", app, claimFile)
	fmt.Fprintf(&b, "  %s get kubernetesclusters -w\n", app)
	fmt.Fprintf(&b, "  %s get secret %s -o jsonpath='{.data.password}' | base64 -d; echo\n", app, claimSecretName)
	fmt.Fprintf(&b, "\nCreate a namespaced composite resource (no claim), and watch it become Ready with the Secret its\n")
	fmt.Fprintf(&b, "composition composed, copied into the app cluster:\n")
	fmt.Fprintf(&b, "  %s apply -f examples/%s\n", app, xrFile)
	fmt.Fprintf(&b, "  %s get %s -w\n", app, harness.V2XRPlural)
	fmt.Fprintf(&b, "  %s get secret %s -o jsonpath='{.data.password}' | base64 -d; echo\n", app, xrSecretName())
	fmt.Fprintf(&b, "\nThe same claim and XR in the control plane, in namespace %s, and what they composed:\n", controlPlaneNamespace)
	fmt.Fprintf(&b, "  %s -n %s get kubernetesclusters,%s\n", cp, controlPlaneNamespace, harness.V2XRPlural)
	fmt.Fprintf(&b, "  %s -n %s get configmaps,secrets\n", cp, controlPlaneNamespace)
	fmt.Fprintf(&b, "  %s get xkubernetesclusters\n", cp)
	fmt.Fprintf(&b, "\nPress Ctrl-C to stop everything.\n")
	fmt.Print(b.String())
}
