package main

import (
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// cliOnly are the commands the image's binary (the runonly tag) leaves out:
// cli.go adds them, cli_runonly.go answers each with where to find it.
var cliOnly = []string{"install", "status", "uninstall", "release", "rbac", "migrate", "argocd"}

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
	addCLI(root)
	return root
}
