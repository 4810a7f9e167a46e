// Command demo runs mcp-connector locally against real clusters: a control
// plane (kube-apiserver, Crossplane v2 with function-patch-and-transform, and
// the example APIs of test/harness/crossplanev2: the claim KubernetesCluster
// and the namespaced XR Database) and an app cluster, both from the binaries
// `make tools` builds. It writes their admin kubeconfigs to .demo/, starts the
// connector between them, prints kubectl commands to try (apply
// examples/my-cluster.yaml and examples/database.yaml), and stops everything
// on Ctrl-C.
//
// `make run` runs it. With --check (`make demo-check`) it brings everything
// up, applies both examples with kubectl, waits for each to be Ready and
// Synced with its Secret in the app cluster, and exits: 0 when all of that
// happened, 1 at the first step that did not, saying which.
package main
