//go:build !runonly

package main

import "github.com/spf13/cobra"

// addCLI adds the commands a person runs: install, inspect, migrate and
// uninstall. The image's binary is built without them (the runonly tag:
// cli_runonly.go).
func addCLI(root *cobra.Command) {
	root.AddCommand(newInstallCommand(), newStatusCommand(), newUninstallCommand(), newReleaseCommand(), newRBACCommand(), newMigrateCommand(), newArgoCDCommand())
}
