// Package harness starts real Kubernetes clusters for the end-to-end tests and
// the local demo: an app cluster (kube-apiserver, etcd and optionally
// kube-controller-manager, through controller-runtime's envtest) and a control
// plane (the same plus Crossplane v1.20 and provider-nop, with the example XRD
// and Composition applied), and it runs the mcp-connector binary between them.
//
// A control plane can run Crossplane v2 instead (ControlPlaneOptions.CrossplaneV2, or MCP_E2E_CROSSPLANE=v2 for
// RunWithWorld; crossplanev2.go, function.go): no provider, function-patch-and-transform as a local process with
// mTLS, Crossplane's External package runtime with the harness writing the FunctionRevision's runtime status,
// the package read from Crossplane's cache, and the example APIs of crossplanev2/ beside the claim API.
//
// Binaries come from the paths in MCP_KUBE_APISERVER, MCP_ETCD,
// MCP_KUBE_CONTROLLER_MANAGER, MCP_CROSSPLANE and MCP_PROVIDER_NOP (and, for
// Crossplane v2, MCP_CROSSPLANE_V2 and MCP_FUNCTION_PAT; the Makefile exports them), or else from <repo>/bin/<name>-<version>; `make
// tools` builds them. Every child process is killed when the process that
// started it dies, however it dies.
//
// provider-nop binds :8080 and :9443 (on v2 the function binds :8080) and cannot be told otherwise, so only one
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
