package main

import (
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "mcp-connector",
		Short:         "Mirror a Crossplane control plane's claim APIs into this cluster",
		Long:          "mcp-connector runs in an app cluster and mirrors the claim APIs of a Crossplane control plane:\nclaim CRDs are copied in, claims are pushed up into one control-plane namespace, status and\nconnection Secrets come back down.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       currentBuildInfo().Version,
	}
	root.AddCommand(newRunCommand(), newVersionCommand())
	root.AddCommand(newInstallCommand(), newStatusCommand(), newUninstallCommand(), newReleaseCommand(), newRBACCommand(), newMigrateCommand(), newArgoCDCommand())
	return root
}
