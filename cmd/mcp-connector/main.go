// Command mcp-connector mirrors a Crossplane control plane's claim APIs into
// the app cluster it runs in, and installs, inspects and uninstalls itself.
package main

import (
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cmd := newRootCommand()
	cmd.SetArgs(args)
	return cmd.ExecuteContext(ctrl.SetupSignalHandler())
}
