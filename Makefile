# certfleet.acme: set-up, checks and the demo. Every target installs what it
# needs (system packages via apt, Python packages into .venv).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        ?= $(CURDIR)/.venv
PYTHON      ?= python3
BUILD       := $(CURDIR)/.build
COLL_PATH   := $(BUILD)/collections
COLL_LINK   := $(COLL_PATH)/ansible_collections/certfleet/acme
# Outside the checkout: ansible-test would otherwise list files through the
# enclosing git repository, which ignores .build.
SANITY_ROOT := $(or $(TMPDIR),/tmp)/certfleet-sanity-$(shell echo "$(CURDIR)" | md5sum | cut -c1-8)/ansible_collections/certfleet/acme
PYTEST_ARGS ?=

export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLL_PATH)
export PYTHONPATH := $(COLL_PATH)
export ANSIBLE_PYTHON_INTERPRETER := $(VENV)/bin/python
export ANSIBLE_NOCOLOR := 1

.PHONY: help deps venv collection demo test sanity lint unit ee integration molecule bench format clean

help:
	@echo "make demo   issue certificates on a local Pebble + BIND9 rig and show them"
	@echo "make test   every check: sanity, lint, unit, ee, integration, molecule"
	@echo "make ee     the execution environment's build context (.build/ee/context), checked"
	@echo "make bench  the fleet benchmark (not part of make test)"

deps:
	@bash scripts/install-system-deps.sh

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@# This machine's pip configuration names mirrors that may be absent; their warnings are noise.
	set -o pipefail; $(VENV)/bin/python -m pip install -q --upgrade pip 2>&1 | { grep -v "is ignored: it is neither" || true; }
	set -o pipefail; $(VENV)/bin/python -m pip install -q -r requirements-dev.txt 2>&1 | { grep -v "is ignored: it is neither" || true; }
	@touch $@

venv: $(VENV)/.installed

# Ansible finds the collection through a link under .build, so the working
# tree is what runs, without building and installing a tarball.
collection: venv
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn $(CURDIR) $(COLL_LINK)

demo: deps collection
	@bash scripts/demo.sh

test: deps collection
	@$(MAKE) --no-print-directory sanity lint unit ee integration molecule
	@echo "make test: all checks passed"

# ansible-test wants the collection at ansible_collections/<ns>/<name>; it is
# given a copy of the tracked and new files so .venv and .build stay out.
sanity: collection
	@rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_ROOT)
	@git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c 'test -e "{}" && echo "{}"' | tar -cf - -T - | tar -xf - -C $(SANITY_ROOT)
	@$(VENV)/bin/python scripts/provide_get_pip.py
	cd $(SANITY_ROOT) && ansible-test sanity --venv --python 3.11 --color no --truncate 0

lint: collection
	ansible-lint --offline --profile production

unit: collection
	pytest -q tests/unit $(PYTEST_ARGS)

# The execution environment's build context from the collection tarball; no container engine is needed for it.
# Build the image from it with `podman build -f Containerfile -t <tag> .build/ee/context`.
EE_DIR := $(BUILD)/ee
ee: venv
	@rm -rf $(EE_DIR)
	ansible-galaxy collection build --force --output-path $(EE_DIR)
	ansible-builder create -f execution-environment.yml -c $(EE_DIR)/context --output-filename Containerfile
	$(VENV)/bin/python scripts/check_ee_context.py execution-environment.yml $(EE_DIR)/context

integration: collection
	@# Two workers, each with its own rig (slot): much of a test is waiting on DNS and ACME.
	pytest -q -n 2 --dist loadfile tests/integration $(PYTEST_ARGS)

# Every scenario in extensions/molecule, full test sequence; on this machine, no container engine
# (the default scenario runs the role on localhost against the rig and a private nginx).
molecule: collection
	molecule test --all

# certbot, lego and the ansible package (community.crypto) are installed by the bench's own script,
# certbot and ansible in .build/bench-venv. BENCH_ARGS e.g. --tools ours --workloads single --sizes 1,10
BENCH_ARGS ?=
bench: deps collection
	@bash scripts/install-bench-deps.sh
	$(VENV)/bin/python bench/run.py $(BENCH_ARGS)

format: venv
	ruff format plugins tests scripts bench
	ruff check --fix plugins tests scripts bench

clean:
	rm -rf $(BUILD) .pytest_cache
