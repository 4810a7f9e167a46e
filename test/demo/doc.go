// Command demo runs mcp-connector locally against real clusters: a control
// plane (kube-apiserver, Crossplane v1.20, provider-nop and the example XRD and
// Composition) and an app cluster, both from the binaries `make tools` builds.
// It writes their admin kubeconfigs to .demo/, starts the connector between
// them, prints kubectl commands to try, and stops everything on Ctrl-C.
//
// `make run` runs it. With --check it brings everything up, proves kubectl
// answers with both kubeconfigs, reports on the connector, and exits: 0 when
// the clusters work.
package main
