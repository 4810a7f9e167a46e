// Command bench measures mcp-connector against real kube-apiservers and
// reports the figures of GitHub issue 8 next to a baseline measured in the
// same run: a bare client that does the least API work for the same outcome,
// with the same client QPS and burst as the connector.
//
// The control plane runs without Crossplane: it serves the Crossplane XRD
// CRD, three XRDs and three claim CRDs shaped as Crossplane generates them
// (apis.go), and the bench itself plays Crossplane where a figure needs it
// (it writes remote status and connection Secrets). Crossplane would only add
// noise: its own reconciles compete for the two cores.
//
// It writes report.md, latency.png, results.json, the connector's logs and
// CPU and heap profiles into the output directory (make bench: .bench/). See
// docs/benchmarks.md for what each figure means and how to read it.
package main
