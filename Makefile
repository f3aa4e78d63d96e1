# The README's two commands: `make demo` (the quickstart against vcr-local) and
# `make test` (everything CI checks). Each installs what it needs.

SHELL := /bin/bash
CARGO ?= cargo

.PHONY: all build test lint docs demo release install terraform bench clean

all: build

build:
	$(CARGO) build --bins

## Installs terraform into .tools/ when none is on the PATH, and prints which one is used.
terraform:
	@echo "terraform: $$(bash scripts/terraform-bin.sh)"

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

## Everything CI runs: formatting, lints, unit, protocol, client and acceptance tests.
test: terraform lint
	$(CARGO) test --all-targets

## Rewrites the generated parts of docs/ from the schema and examples/.
docs:
	UPDATE_DOCS=1 $(CARGO) test --test docs

demo: build
	@bash scripts/demo.sh

## Benchmarks, not tests: the release build next to Terraform's own terraform_data and
## to two Go providers, vcr-local's API counters, and the criterion hot paths; results
## into BENCHMARKS.md. BENCH_ARGS=--quick tries the harness in a minute.
bench: terraform
	$(CARGO) build --release --bins
	python3 scripts/bench.py $(BENCH_ARGS)

## Zips, checksums and manifest for the Terraform registry, in dist/.
release:
	@bash scripts/release.sh

## Puts the provider where a local `terraform init` finds it (~/.terraform.d/plugins).
install:
	@bash scripts/install.sh

clean:
	$(CARGO) clean
	rm -rf .tools dist
