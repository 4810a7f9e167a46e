# mcp-connector: mirror a Crossplane control plane's claim APIs into an app cluster.

SHELL := /usr/bin/env bash -o pipefail
export GOTOOLCHAIN := local

BIN := $(CURDIR)/bin

# Pinned tool versions. Each is built from a Go module kept under test/tools/ (own go.mod),
# so the project's go.mod stays clean. The version is part of the file name: a version bump rebuilds.
KUBE_VERSION       ?= v1.34.10
ETCD_VERSION       ?= v3.6.4
CROSSPLANE_VERSION ?= v1.20.13
NOP_VERSION        ?= v0.5.0
# Argo CD's own health check for Crossplane resources (argo-cd's resource_customizations/_.crossplane.io/_/health.lua),
# which the end-to-end tests run on real claims. Taken from the argo-cd module (downloaded, not built); keep it in step
# with argoCDVersion in test/e2e/argocd_test.go.
ARGOCD_VERSION     ?= v3.5.7
# The second Crossplane line of the tests (test/e2ev2, and test/e2e's claim tests with MCP_E2E_CROSSPLANE=v2),
# and the composition function it runs as a local process.
CROSSPLANE_V2_VERSION ?= v2.3.4
FUNCTION_PAT_VERSION  ?= v0.10.7

KUBE_APISERVER := $(BIN)/kube-apiserver-$(KUBE_VERSION)
KUBE_CM        := $(BIN)/kube-controller-manager-$(KUBE_VERSION)
# The real node of test/node (the image run as a pod), from the same builder module.
KUBELET        := $(BIN)/kubelet-$(KUBE_VERSION)
KUBE_SCHEDULER := $(BIN)/kube-scheduler-$(KUBE_VERSION)
KUBE_PROXY     := $(BIN)/kube-proxy-$(KUBE_VERSION)
ETCD           := $(BIN)/etcd-$(ETCD_VERSION)
CROSSPLANE     := $(BIN)/crossplane-$(CROSSPLANE_VERSION)
PROVIDER_NOP   := $(BIN)/provider-nop-$(NOP_VERSION)
CROSSPLANE_V2  := $(BIN)/crossplane-$(CROSSPLANE_V2_VERSION)
FUNCTION_PAT   := $(BIN)/function-patch-and-transform-$(FUNCTION_PAT_VERSION)
CONNECTOR      := $(BIN)/mcp-connector
ARGOCD_HEALTH  := $(BIN)/argocd-health-$(ARGOCD_VERSION)/health.lua

KUBE_LDFLAGS := -X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34

# What the test harness (test/harness) reads to find the binaries.
export MCP_TEST_BIN := $(BIN)
export MCP_KUBE_APISERVER := $(KUBE_APISERVER)
export MCP_KUBE_CONTROLLER_MANAGER := $(KUBE_CM)
export MCP_KUBELET := $(KUBELET)
export MCP_KUBE_SCHEDULER := $(KUBE_SCHEDULER)
export MCP_KUBE_PROXY := $(KUBE_PROXY)
export MCP_ETCD := $(ETCD)
export MCP_CROSSPLANE := $(CROSSPLANE)
export MCP_PROVIDER_NOP := $(PROVIDER_NOP)
export MCP_CROSSPLANE_V2 := $(CROSSPLANE_V2)
export MCP_FUNCTION_PAT := $(FUNCTION_PAT)
export MCP_CONNECTOR := $(CONNECTOR)
export MCP_ARGOCD_HEALTH := $(ARGOCD_HEALTH)

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Build

# The version is the chart's appVersion (the image's tag too); the commit is HEAD's.
APP_VERSION := $(shell awk -F'"' '/^appVersion:/ {print $$2}' charts/mcp-connector/Chart.yaml)
COMMIT      := $(shell git rev-parse HEAD 2>/dev/null)

.PHONY: build
build: ## Build the mcp-connector binary into ./bin
	go build -ldflags "-X main.version=$(APP_VERSION) -X main.commit=$(COMMIT)" -o $(CONNECTOR) ./cmd/mcp-connector

.PHONY: tools
tools: $(KUBE_APISERVER) $(KUBE_CM) $(KUBELET) $(KUBE_SCHEDULER) $(KUBE_PROXY) $(ETCD) $(CROSSPLANE) $(PROVIDER_NOP) $(CROSSPLANE_V2) $(FUNCTION_PAT) $(ARGOCD_HEALTH) ## Build the pinned test binaries into ./bin

$(ARGOCD_HEALTH):
	@mkdir -p $(dir $@)
	dir=$$(go mod download -json github.com/argoproj/argo-cd/v3@$(ARGOCD_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p') && \
		cp "$$dir/resource_customizations/_.crossplane.io/_/health.lua" $@

$(ETCD):
	@mkdir -p $(BIN)
	cd test/tools/etcd && go build -o $@ go.etcd.io/etcd/server/v3

$(KUBE_APISERVER):
	@mkdir -p $(BIN)
	cd test/tools/kube && go build -ldflags "$(KUBE_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/kube-apiserver

$(KUBE_CM):
	@mkdir -p $(BIN)
	cd test/tools/kube && go build -ldflags "$(KUBE_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/kube-controller-manager

$(KUBELET) $(KUBE_SCHEDULER) $(KUBE_PROXY):
	@mkdir -p $(BIN)
	cd test/tools/kube && go build -ldflags "$(KUBE_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/$(patsubst %-$(KUBE_VERSION),%,$(notdir $@))

$(CROSSPLANE):
	@mkdir -p $(BIN)
	cd test/tools/crossplane && go build -o $@ github.com/crossplane/crossplane/cmd/crossplane

$(PROVIDER_NOP):
	@mkdir -p $(BIN)
	cd test/tools/provider-nop && go build -o $@ github.com/crossplane-contrib/provider-nop/cmd/provider

# Without the version, `crossplane --version` is empty and packages' Crossplane constraints are not checked
# (since v2.3 the variable lives in crossplane-runtime).
$(CROSSPLANE_V2):
	@mkdir -p $(BIN)
	cd test/tools/crossplane-v2 && go build \
		-ldflags "-X github.com/crossplane/crossplane-runtime/v2/pkg/version.version=$(CROSSPLANE_V2_VERSION)" \
		-o $@ github.com/crossplane/crossplane/v2/cmd/crossplane

$(FUNCTION_PAT):
	@mkdir -p $(BIN)
	cd test/tools/function-pat && go build -o $@ github.com/crossplane-contrib/function-patch-and-transform

##@ Image

# The connector's OCI image, built with no Docker daemon and nothing pulled (test/tools/image, its own module):
# linux/amd64 and linux/arm64 in one image index, an OCI layout in bin/image named
# ghcr.io/mcp-connector/mcp-connector:$(APP_VERSION) (the chart's default image), and bin/image-linux-<arch>.tar,
# a docker archive per platform (ctr images import, docker load). Two builds of one commit give the same digest.
IMAGE_BUILDER   := $(BIN)/mcp-image-build
IMAGE_DIR       ?= $(BIN)/image
# test/node runs this image on a real node.
export MCP_IMAGE := $(IMAGE_DIR)
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64
# make image-push REGISTRY=registry.example.org/team pushes bin/image to $(REGISTRY)/mcp-connector:$(APP_VERSION).
REGISTRY        ?=

.PHONY: image
image: ## Build the OCI image for linux/amd64 and linux/arm64 into bin/image (no Docker daemon)
	@mkdir -p $(BIN)
	cd test/tools/image && go build -o $(IMAGE_BUILDER) .
	$(IMAGE_BUILDER) --source=$(CURDIR) --out=$(IMAGE_DIR) --platforms=$(IMAGE_PLATFORMS) --docker-archives

.PHONY: image-push
image-push: ## Push bin/image to a registry of your own: make image-push REGISTRY=registry.example.org/team
	@[ -n "$(REGISTRY)" ] || { echo "image-push: set REGISTRY, e.g. make image-push REGISTRY=registry.example.org/team"; exit 1; }
	@[ -f $(IMAGE_DIR)/index.json ] || { echo "image-push: no image in $(IMAGE_DIR): run make image first"; exit 1; }
	cd test/tools/image && go build -o $(IMAGE_BUILDER) .
	$(IMAGE_BUILDER) --out=$(IMAGE_DIR) --push=$(REGISTRY)/mcp-connector:$(APP_VERSION)

##@ Test

# Packages whose tests need no cluster and no pinned binary.
UNIT_PKGS := ./cmd/... ./sync/... ./crdmirror/... ./conflict/...
# Extra `go test` flags, e.g. GO_TEST_FLAGS="-run TestFoo -v".
GO_TEST_FLAGS ?=
# test/run runs the unit packages, then each package that starts clusters,
# MCP_TEST_JOBS (default 2) at a time, each in a network namespace of its own
# when run as root (provider-nop's fixed ports and the harness's control-plane
# lock otherwise allow one control plane per machine); one at a time elsewhere.
TEST_TIMEOUT ?= 20m
export GO_TEST_FLAGS TEST_TIMEOUT

# The claim tests of test/e2e and test/cli that run a second time against Crossplane v2 (MCP_E2E_CROSSPLANE=v2:
# the same legacy claim API, composed by a function): mirroring, round trip with status and Secret, delete,
# orphaned delete, offline, uninstall and reinstall (orphan, import). The rest is line-independent connector
# logic and runs on v1.20 only; test/e2ev2 (in ./...) holds what needs v2.
export E2E_V2_TESTS ?= ^(TestControlPlaneServesExampleClaim|TestClaimAPIMirrored|TestClaimRoundTrip|TestOrphanDelete|TestControlPlaneOutage|TestInstallUninstallReinstall)$$

.PHONY: test
test: tools test-ops test-bench-unit image ## Run every test: the chart's PromQL, unit, harness and end-to-end against real clusters (claim tests on both Crossplane lines; the image on a real node)
	bash test/run

# The chart's alerts and dashboard against Prometheus' own PromQL parser. A module of its own (test/ops/go.mod), so
# that Prometheus stays out of the project's go.mod; `go test ./...` does not enter it.
.PHONY: test-ops
test-ops: $(HELM) ## Run the PromQL checks of the chart's PrometheusRule and dashboard (test/ops)
	cd test/ops && go test -count=1 -timeout 5m ./...

# The bench's own unit tests (its request parsing, /proc readings): a module of its own (test/bench/go.mod).
.PHONY: test-bench-unit
test-bench-unit: ## Run the unit tests of the benchmark (test/bench)
	cd test/bench && go test -count=1 -timeout 5m .

.PHONY: test-unit
test-unit: ## Run the unit tests (no clusters, no binaries)
	go test -timeout 5m $(GO_TEST_FLAGS) $(UNIT_PKGS)

.PHONY: test-e2e
test-e2e: tools ## Run the harness and end-to-end tests against real clusters
	go test -p 1 -count=1 -timeout $(TEST_TIMEOUT) $(GO_TEST_FLAGS) ./test/...
	MCP_E2E_CROSSPLANE=v2 go test -p 1 -count=1 -timeout $(TEST_TIMEOUT) $(GO_TEST_FLAGS) -run '$(E2E_V2_TESTS)' ./test/e2e/ ./test/cli/

##@ Lint

GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT         := $(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)

.PHONY: lint
lint: $(GOLANGCI_LINT) check-tracked ## Run go vet, the gofmt check, golangci-lint and the check that no built file is tracked
	go vet ./...
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then \
		echo "gofmt: these files are not formatted (run gofmt -w):"; echo "$$unformatted"; exit 1; fi
	$(GOLANGCI_LINT) run ./...

# Nothing built goes into git: a tracked executable (ELF, PE or Mach-O) or a file over 5 MiB fails the check.
MAX_TRACKED_BYTES ?= 5242880

.PHONY: check-tracked
check-tracked: ## Fail if git tracks a built binary or an oversized file
	@bad=$$(git ls-files -z | while IFS= read -r -d '' f; do \
		[ -f "$$f" ] || continue; \
		magic=$$(head -c 4 "$$f" | od -An -tx1 | tr -d ' \n'); \
		case "$$magic" in 7f454c46*|4d5a*|cffaedfe*|cefaedfe*|feedface*|feedfacf*) echo "$$f (executable)"; continue;; esac; \
		[ "$$(stat -c %s "$$f")" -le $(MAX_TRACKED_BYTES) ] || echo "$$f (over $(MAX_TRACKED_BYTES) bytes)"; \
	done); \
	if [ -n "$$bad" ]; then echo "check-tracked: built or oversized files are tracked by git:"; echo "$$bad"; exit 1; fi

$(GOLANGCI_LINT):
	@mkdir -p $(BIN)
	cd test/tools/golangci-lint && go build -o $@ github.com/golangci/golangci-lint/v2/cmd/golangci-lint

##@ Demo

DEMO := $(BIN)/mcp-demo

# The demo runs as a built binary, not under `go run`, which reports a Ctrl-C'd
# program as failed.
.PHONY: run
run: tools build ## Run the local demo: control plane, app cluster and connector (Ctrl-C stops it)
	go build -o $(DEMO) ./test/demo
	$(DEMO)

.PHONY: demo-check
demo-check: tools ## Start the demo, check that it works, stop it
	go run ./test/demo --check

##@ Clean

.PHONY: clean
clean: ## Remove the connector binary and the demo state (keeps the pinned tools)
	rm -rf $(CONNECTOR) $(DEMO) .demo .bench

.PHONY: clean-tools
clean-tools: ## Remove the pinned tools too (a rebuild takes ~12 minutes on 2 cores)
	rm -rf $(BIN)

##@ Chart

# helm, pinned like the other tools, for the chart tests (test/chart) and chart-lint. The -X flags are those of
# helm's own release build: its version, and the Kubernetes version it assumes when rendering without a
# cluster (that of the client-go it is built with: v0.37 for helm v3.22.0).
HELM_VERSION ?= v3.22.0
HELM         := $(BIN)/helm-$(HELM_VERSION)
HELM_LDFLAGS := -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37 \
	-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37
CHART        := charts/mcp-connector

# What the chart tests read to find helm.
export MCP_HELM := $(HELM)

# `make tools` (and so `make test`) builds helm with the other pinned binaries.
tools: $(HELM)

$(HELM):
	@mkdir -p $(BIN)
	cd test/tools/helm && go build -ldflags "$(HELM_LDFLAGS)" -o $@ helm.sh/helm/v3/cmd/helm

.PHONY: chart-lint
chart-lint: $(HELM) ## Lint the Helm chart (strict), with a minimal valid set of values
	$(HELM) lint --strict $(CHART) --set mcp.namespace=lint --set controlPlane.kubeconfigSecret.name=lint

.PHONY: chart-test
chart-test: tools ## Run the chart tests: lint, render, schema, install and the connector under the chart's RBAC
	go test -count=1 -timeout $(TEST_TIMEOUT) $(GO_TEST_FLAGS) ./test/chart/...

##@ Bench

# The benchmark of docs/benchmarks.md: latency, initial-sync throughput, steady-state requests, memory, CPU and
# recovery of the connector against a bare client, on real API servers. BENCH_SCALE=small runs in a few minutes;
# BENCH_FLAGS takes more flags (e.g. BENCH_FLAGS="--qps=1000 --burst=2000"). It is its own Go module
# (test/bench/go.mod), so that its plotting library stays out of the project's go.mod.
BENCH_SCALE ?= full
BENCH_FLAGS ?=
BENCH       := $(BIN)/mcp-bench

.PHONY: bench
bench: tools build ## Run the benchmark against real API servers; report in .bench/ (BENCH_SCALE=small: quick run)
	cd test/bench && go build -o $(BENCH) .
	$(BENCH) --scale=$(BENCH_SCALE) --out=$(CURDIR)/.bench --connector=$(CONNECTOR) $(BENCH_FLAGS)

##@ Soak

# The chaos run of docs/offline.md ("Soak"): a seeded random schedule of claim operations and faults against real
# API servers and real Crossplane, the invariants checked all the way and at the end, a report (markdown and JSON).
# SOAK_SEED reruns a schedule (the seed is printed at the start and in the report), SOAK_OPS sets its length,
# SOAK_REPORT the report's path. It runs only under these targets (MCP_SOAK=1), not in `make test`.
SOAK_OPS    ?= 1000
SOAK_REPORT ?= $(CURDIR)/.soak/report.md
SOAK_SEED   ?=
SOAK_SHORT_OPS ?= 300

.PHONY: soak
soak: tools ## Run the chaos soak (>= 1,000 operations; SOAK_SEED=<n> reruns one; report in .soak/)
	MCP_SOAK=1 SOAK_SEED=$(SOAK_SEED) SOAK_OPS=$(SOAK_OPS) SOAK_REPORT=$(SOAK_REPORT) \
		go test -count=1 -timeout 60m -v -run '^TestSoak$$' ./test/soak/

.PHONY: soak-short
soak-short: tools ## Run a short, seeded soak (at most 3 minutes; SOAK_SEED=1 unless given)
	MCP_SOAK=1 SOAK_SEED=$(or $(SOAK_SEED),1) SOAK_OPS=$(SOAK_SHORT_OPS) SOAK_REPORT=$(SOAK_REPORT) SOAK_REST=15s \
		go test -count=1 -timeout 40m -v -run '^TestSoak$$' ./test/soak/
