# appstack: the commands users and CI run. `make setup` builds what the main job needs once;
# `make up` deploys a stack (dev by default) with local file state in .pulumi-state/ and
# passphrase secrets; `make test` runs the whole suite.
SHELL := /bin/bash
STACK ?= dev
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STATE_DIR := $(CURDIR)/.pulumi-state
PULUMI ?= pulumi
# Stack state: PULUMI_BACKEND_URL when it is set, else this checkout's .pulumi-state/ (local file
# state: no account, nothing leaves the machine).
export PULUMI_BACKEND_URL ?= file://$(STATE_DIR)
# The passphrase that encrypts this machine's stack secrets: taken from the environment, else
# generated once into .pulumi-state/passphrase (git-ignored, mode 600).
PASSPHRASE_FILE := $(STATE_DIR)/passphrase
WITH_PASSPHRASE := if [ -z "$${PULUMI_CONFIG_PASSPHRASE:-}" ]; then export PULUMI_CONFIG_PASSPHRASE_FILE=$(PASSPHRASE_FILE); fi;
# The Pulumi CLI and plugins `make toolchain` built and cached, when they are there; otherwise
# the `pulumi` on PATH with its own plugins.
include toolchain/versions.env
APPSTACK_CACHE ?= $(HOME)/.cache/appstack
WITH_TOOLCHAIN := $(if $(wildcard $(APPSTACK_CACHE)/pulumi-$(PULUMI_CLI_VERSION)/bin/pulumi),. toolchain/env.sh;,)
PULUMI_ENV := $(WITH_TOOLCHAIN) $(WITH_PASSPHRASE)

.PHONY: setup venv up preview destroy test test-fast test-k8s e2e e2e-k8s check verify lint bench system minio engine k8s toolchain images clean

# The pinned requirements, then this checkout's package `appstack` in editable mode: the program,
# the policy pack, delivery, the tests and Pulumi's dynamic-provider processes all import it from
# the venv.
$(VENV)/.installed: requirements.txt requirements-dev.txt app/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

venv: $(VENV)/.installed

$(PASSPHRASE_FILE):
	mkdir -p $(STATE_DIR)
	umask 077 && $(PY) -c "import secrets; print(secrets.token_urlsafe(32))" > $@

# Extra flags for `pulumi up`/`destroy`, e.g. UP_FLAGS=--yes to skip the confirmation prompt.
UP_FLAGS ?=

# Once per machine: the virtualenv, the toolchain (built from source, cached) and the local
# images, on a local Docker engine (started by scripts/dockerd.sh when none answers).
setup: venv toolchain images

# The main job: a stack from nothing to a healthy platform, on the local Docker engine.
up: venv $(PASSPHRASE_FILE)
	@$(WITH_TOOLCHAIN) command -v $(PULUMI) >/dev/null || { echo "make up needs the Pulumi CLI: 'make setup' builds it here (see README)"; exit 2; }
	$(PULUMI_ENV) $(PULUMI) stack select --create --secrets-provider passphrase $(STACK) && \
	  $(PULUMI) up --stack $(STACK) --policy-pack policies $(UP_FLAGS)

preview: venv $(PASSPHRASE_FILE)
	$(PULUMI_ENV) $(PULUMI) preview --stack $(STACK) --diff --policy-pack policies

destroy: venv $(PASSPHRASE_FILE)
	$(PULUMI_ENV) $(PULUMI) destroy --stack $(STACK) $(UP_FLAGS)

# System packages the real-server tests need (Debian; run as root).
system:
	bash scripts/install-system.sh

# The MinIO server the object-storage tests start, built from its Go module and cached.
minio:
	bash toolchain/build-minio.sh

# The Pulumi CLI and Pulumi's Python language host, built from Go modules and cached.
engine:
	bash toolchain/build.sh engine

# The whole toolchain: CLI, language host, the docker/command/random provider plugins, MinIO.
toolchain:
	bash toolchain/build.sh all

# The local Kubernetes cluster (Kubernetes from k8s.io/kubernetes, etcd and the pause image from
# Debian packages) and the pulumi-kubernetes plugin, built and cached (toolchain/README.md).
k8s: engine
	bash toolchain/build-k8s.sh

# The whole suite: graph under mocks, policies, delivery, real servers on loopback, and the
# dynamic providers and the policy pack under the real engine. The Kubernetes tests run with
# `make test-k8s`.
test: venv toolchain
	$(PY) -m pytest -q -m "not e2e and not k8s"

# The whole platform under the real engine on the local Docker engine, and the ci-k8s stack on the
# local Kubernetes cluster (tests/e2e/run.sh). The YAML program's `pulumi package add provider/`
# loads every plugin the checkout's virtualenv declares, pulumi-kubernetes' among them, so it needs
# `make k8s` anyway.
e2e: venv toolchain k8s
	bash tests/e2e/run.sh

# The whole platform on Kubernetes (tests/e2e/test_ci_k8s_stack.py): the ci-k8s stack under the
# real engine on the local cluster, with the images of the local Docker engine imported into it.
e2e-k8s: venv toolchain k8s
	APPSTACK_E2E_MARKERS="e2e and k8s" bash tests/e2e/run.sh

# The Kubernetes tests: a real cluster on 127.0.0.1 (scripts/k8s-cluster.sh) and the real engine
# with pulumi-kubernetes; they import appstack/redis from the local Docker engine, which
# tests/e2e/run.sh starts (and stops again if it started it) and builds the images on.
test-k8s: venv k8s
	APPSTACK_E2E_MARKERS="k8s and not e2e" APPSTACK_E2E_PATHS=tests/k8s bash tests/e2e/run.sh

# Everything that needs no real server (nor the fresh virtualenv the wheel is installed into).
test-fast: venv
	$(PY) -m pytest -q -m "not real and not e2e and not install"

check: venv
	$(PY) -m policies.check --stack $(STACK)

verify: venv
	$(PULUMI_ENV) $(PY) -m delivery verify --stack $(STACK)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	cd app && ../$(VENV)/bin/mypy

bench: venv toolchain
	$(PY) -m benchmarks.program_eval
	$(PY) -m benchmarks.bucket_noop
	$(PY) -m benchmarks.redact
	bash scripts/dockerd.sh start
	bash images/build.sh all
	. toolchain/env.sh && $(PY) -m benchmarks.e2e_up

images:
	bash scripts/dockerd.sh start
	bash images/build.sh all

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
