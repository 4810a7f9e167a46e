package main

import (
	"fmt"
	"strings"
)

// printTryThis prints the kubectl commands that show the connector at work.
func printTryThis(d demoDir, conn connector) {
	app := "kubectl --kubeconfig " + rel(d.appKubeconfig())
	cp := "kubectl --kubeconfig " + rel(d.controlPlaneKubeconfig())
	var b strings.Builder
	fmt.Fprintf(&b, "\nThe demo is up. Logs: %s/{app,control-plane}/*.log", rel(d.root))
	if conn.process != nil {
		fmt.Fprintf(&b, ", %s", rel(conn.process.LogPath()))
	}
	fmt.Fprintf(&b, "\n\nThe claim APIs of the control plane, mirrored into the app cluster:\n")
	fmt.Fprintf(&b, "  %s api-resources | grep starter\n", app)
	fmt.Fprintf(&b, "\nClaim a cluster in the app cluster, and watch it become Ready:\n")
	fmt.Fprintf(&b, "  %s apply -f examples/claim.yaml\n", app)
	fmt.Fprintf(&b, "  %s get kubernetesclusters -w\n", app)
	fmt.Fprintf(&b, "  %s get secret demo-kubeconfig -o jsonpath='{.data.password}' | base64 -d; echo\n", app)
	fmt.Fprintf(&b, "\nThe same claim in the control plane, in namespace %s:\n", controlPlaneNamespace)
	fmt.Fprintf(&b, "  %s -n %s get kubernetesclusters\n", cp, controlPlaneNamespace)
	fmt.Fprintf(&b, "  %s get xkubernetesclusters,clusternopresources\n", cp)
	fmt.Fprintf(&b, "\nPress Ctrl-C to stop everything.\n")
	fmt.Print(b.String())
}
