# dnsfailover build tooling (GNU make).
#
#   make            list the targets
#   make test       what CI runs: lint, licence/source checks, MSRV check, tests
#                   (CRD drift check and the real-control-plane suite included)
#   make demo       the controller on a local control plane: kubectl apply, status,
#                   events, the records in a local Route 53 emulator, a drill
#   make demo-cli   the standalone CLI walkthrough against the emulator
#   make cluster-up a local Kubernetes control plane + Route 53 emulator

CARGO  ?= cargo
PYTHON ?= python3

VENV       := .venv
VENV_STAMP := $(VENV)/.installed
MOTO_SERVER := $(CURDIR)/$(VENV)/bin/moto_server

CRD_FILE := crds/failoverrecords.dnsfailover.io.yaml
CHART_CRD := charts/dnsfailover/crds/failoverrecords.dnsfailover.io.yaml
SHELL_SCRIPTS := scripts/demo.sh scripts/demo-cli.sh scripts/cluster-bins.sh scripts/cluster-versions.sh scripts/gateway-api-crds.sh scripts/promtool.sh .ci/run tests/e2e/run.sh

# Tools built from crates.io once per machine, outside the work tree.
# DNSFAILOVER_CACHE_DIR moves them with the control-plane binaries.
TOOLS_DIR     ?= $(or $(DNSFAILOVER_CACHE_DIR),$(HOME)/.cache/dnsfailover)/tools
CARGO_DENY    := $(TOOLS_DIR)/bin/cargo-deny
DENY_VERSION  := 0.20.2
# The oldest Rust the crate promises to build with (Cargo.toml's rust-version).
MSRV := $(shell sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)


.DEFAULT_GOAL := help

.PHONY: help venv test soak bench bench-cluster fmt fmt-check lint script-lint deny msrv crd crd-check chart-check demo demo-cli image e2e \
	cluster-bins promtool cluster-up cluster-down

help: ## List the targets
	@echo "dnsfailover make targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | \
		awk 'BEGIN { FS = ":.*## " } { printf "  %-12s %s\n", $$1, $$2 }'

venv: $(VENV_STAMP) ## Create .venv with the Route 53 emulator (moto) and boto3

$(VENV_STAMP): requirements-dev.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

test: venv cluster-bins promtool lint script-lint deny msrv ## lint, shell and Dockerfile lint, licences and sources, MSRV, cargo test (debug; includes the CRD drift, chart with promtool rule tests, and real-control-plane suites)
	DNSFAILOVER_MOTO_SERVER="$(MOTO_SERVER)" DNSFAILOVER_CLUSTER_BINS="$$(scripts/cluster-bins.sh --path)" \
		DNSFAILOVER_PROMTOOL="$$(scripts/promtool.sh --path)" \
		$(CARGO) test --all-targets --locked

cluster-bins: ## Build etcd, kube-apiserver, kube-controller-manager, kubectl from their Go modules (once per machine, cached in ~/.cache/dnsfailover)
	@scripts/cluster-bins.sh >/dev/null

promtool: ## Build promtool from Prometheus's Go module (once per machine, cached in ~/.cache/dnsfailover); the chart tests run its rule tests
	@scripts/promtool.sh >/dev/null

cluster-up: venv cluster-bins ## Start a local control plane and the Route 53 emulator (state in .cluster/; then `. .cluster/env`)
	$(VENV)/bin/python scripts/cluster.py up

cluster-down: ## Stop what cluster-up started and remove .cluster/
	$(PYTHON) scripts/cluster.py down

fmt: ## Format the code
	$(CARGO) fmt --all

fmt-check: ## Check formatting without changing files
	$(CARGO) fmt --all -- --check

lint: ## fmt check + clippy with warnings as errors (clippy holds the code to rust-version's std)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

$(CARGO_DENY):
	$(CARGO) install --locked cargo-deny --version $(DENY_VERSION) --root $(TOOLS_DIR)

deny: $(CARGO_DENY) ## Licences, banned and duplicate-free sources of every dependency (deny.toml); advisories need a database this machine cannot fetch
	$(CARGO_DENY) --locked check licenses bans sources

msrv: ## Check the crate (tests and benches too) with the Rust of Cargo.toml's rust-version
	rustup toolchain list | grep -q '^$(MSRV)' || rustup toolchain install $(MSRV) --profile minimal
	$(CARGO) +$(MSRV) check --locked --all-targets --target-dir target/msrv

crd: ## Regenerate the committed CRD YAML (crds/ and the chart's crds/)
	@mkdir -p $(dir $(CRD_FILE)) $(dir $(CHART_CRD))
	$(CARGO) run --quiet -- crd > $(CRD_FILE).tmp
	mv $(CRD_FILE).tmp $(CRD_FILE)
	cp $(CRD_FILE) $(CHART_CRD)

crd-check: ## Fail if the committed CRD YAML differs from the generated one
	$(CARGO) test --quiet --test crd_drift

chart-check: venv promtool ## Helm chart: lint --strict, strict render of default and ci/*.yaml values, RBAC, schema, promtool rule tests (tests/chart.rs; part of `make test`)
	DNSFAILOVER_PROMTOOL="$$(scripts/promtool.sh --path)" $(CARGO) test --quiet --test chart

demo: venv cluster-bins ## The controller on a local control plane with the Route 53 emulator: apply, status, events, records, drill, delete
	@echo "==> Building dnsfailover (a debug build: 2-3 minutes the first time)"
	$(CARGO) build --bin dnsfailover
	scripts/demo.sh

demo-cli: venv ## The standalone CLI walkthrough (plan, apply, status) against the Route 53 emulator
	scripts/demo-cli.sh

script-lint: venv ## shellcheck the shell scripts (the e2e suite included), hadolint the Dockerfile
	bash -n tests/e2e/run.sh
	$(VENV)/bin/shellcheck -x $(SHELL_SCRIPTS)
	$(VENV)/bin/hadolint --failure-threshold warning Dockerfile

bench: venv ## Route 53 cost, convergence and footprint figures (BENCHMARKS.md); writes target/bench-report.md
	DNSFAILOVER_MOTO_SERVER="$(MOTO_SERVER)" $(CARGO) bench --bench route53_cost --bench cli_cost | tee target/bench-report.md

bench-cluster: venv cluster-bins ## The controller process at 100 and 1,000 records on the local control plane (BENCHMARKS.md); DNSFAILOVER_BENCH_RECORDS=100,1000,10000 for more
	DNSFAILOVER_MOTO_SERVER="$(MOTO_SERVER)" DNSFAILOVER_CLUSTER_BINS="$$(scripts/cluster-bins.sh --path)" \
		$(CARGO) bench --bench cluster_scale | tee target/bench-cluster-report.md

soak: venv ## Long fault-injection and property runs (minutes)
	DNSFAILOVER_PROPTEST_CASES=20000 DNSFAILOVER_MOTO_SERVER="$(MOTO_SERVER)" $(CARGO) test --profile bench --test soak --test fuzz --lib -- --include-ignored --nocapture

IMAGE ?= dnsfailover:dev
KIND_NODE_IMAGE ?=

image: ## Build the container image (needs Docker)
	docker build -t $(IMAGE) .

e2e: ## End-to-end suite on a kind cluster (needs docker, kind, kubectl, helm)
	IMAGE=$(IMAGE) KIND_NODE_IMAGE=$(KIND_NODE_IMAGE) tests/e2e/run.sh
