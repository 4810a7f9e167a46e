// Package charts embeds the Helm chart of mcp-connector, so that the binary's
// `install` command installs exactly the chart it was built with. It owns no
// logic: the chart's files live in charts/mcp-connector.
package charts

import "embed"

// FS holds the chart's files under ChartDir (all of them, dotfiles too).
//
//go:embed all:mcp-connector
var FS embed.FS

// ChartDir is the chart's directory inside FS.
const ChartDir = "mcp-connector"
