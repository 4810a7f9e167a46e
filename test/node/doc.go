// Package node tests what users run: the connector's image (make image) as a
// pod on a real node of the app cluster (test/harness StartNode: kubelet,
// containerd, kube-scheduler, kube-proxy), installed by `helm install --wait`
// and by `mcp-connector install`, with in-cluster config, the chart's
// ServiceAccount, RBAC, security context and probes, and leader election
// between two replicas. It needs root and the Debian packages containerd, runc
// and containernetworking-plugins: it skips without them, except on CI
// (CI=true), where it fails.
package node
