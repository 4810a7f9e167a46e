// Package chart tests the Helm chart in charts/mcp-connector with a pinned
// helm (`make tools` builds it into ./bin): lint, rendering of each way to
// configure it, the schema's and the templates' refusals, installation of the
// rendered objects into a real kube-apiserver (under the restricted Pod
// Security Standard), and the real connector binary run with exactly the
// arguments, environment and RBAC the chart renders, between a real app
// cluster and a real Crossplane control plane. It holds no product code.
package chart
