//go:build runonly

package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// addCLI, in the image's binary (the runonly tag), leaves out the commands a
// person runs, which bring in Helm's SDK and kubectl's libraries: their code
// and package initialisation would stay in a running connector's memory for
// nothing (docs/operations.md, Memory). Each name answers where to find it.
func addCLI(root *cobra.Command) {
	const where = "make build, or go install github.com/mcp-connector/mcp-connector/cmd/mcp-connector"
	root.Long += "\n\nThis build (the container image's) holds only run and version. Install, inspect, migrate and\nuninstall with the CLI: " + where + "."
	for _, name := range cliOnly {
		root.AddCommand(&cobra.Command{
			Use:                name,
			Hidden:             true,
			DisableFlagParsing: true,
			RunE: func(*cobra.Command, []string) error {
				return fmt.Errorf("%s is not in this build of mcp-connector (the container image's, which only runs the connector): use the CLI (%s)", name, where)
			},
		})
	}
}
