// Package harness starts real Kubernetes clusters for the end-to-end tests and
// the local demo: an app cluster (kube-apiserver, etcd and optionally
// kube-controller-manager, through controller-runtime's envtest) and a control
// plane (the same plus Crossplane v1.20 and provider-nop, with the example XRD
// and Composition applied), and it runs the mcp-connector binary between them.
//
// Binaries come from the paths in MCP_KUBE_APISERVER, MCP_ETCD,
// MCP_KUBE_CONTROLLER_MANAGER, MCP_CROSSPLANE and MCP_PROVIDER_NOP (the
// Makefile exports them), or else from <repo>/bin/<name>-<version>; `make
// tools` builds them. Every child process is killed when the process that
// started it dies, however it dies.
//
// provider-nop binds :8080 and :9443 and cannot be told otherwise, so only one
// control plane runs per machine at a time: StartControlPlane holds an
// exclusive flock on a file in os.TempDir() until Stop, and a second caller (a
// test package run in parallel, the demo) waits for it.
//
// Each cluster keeps its logs, certificates, etcd data and admin kubeconfig in
// its Dir: a temporary directory removed by Stop unless MCP_KEEP_TEST_DIRS is
// set, or a directory the caller names (the demo uses .demo/).
//
// For tests, RunWithWorld is the body of a TestMain that shares one World;
// StartPod runs a chart-rendered Deployment's container as a local connector
// process with the pod's arguments, environment, Secret volumes and
// ServiceAccount; and StartUpboundProxy stands in for Upbound's control-plane
// proxy (token mode).
//
// All objects are unstructured: the harness does not import Crossplane's Go
// API. It owns no product logic; tests assert on the state of the clusters.
package harness
