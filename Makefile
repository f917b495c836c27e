# certfleet.acme: set-up, checks and the demo. Every target installs what it
# needs (system packages via apt, Python packages into .venv).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        ?= $(CURDIR)/.venv
BUILD       := $(CURDIR)/.build
# The supported ansible-core releases and the controller Python each one is tested with. The newest is .venv,
# where everything runs; each older one has its own venv under .build for sanity, the unit tests and a short
# role run on the rig (make matrix).
CORES       := 2.19 2.20 2.21
MAIN_CORE   := 2.21
PY_2.19     := 3.11
PY_2.20     := 3.12
PY_2.21     := 3.13
OLDER_CORES := $(filter-out $(MAIN_CORE),$(CORES))
venv_of      = $(if $(filter $(MAIN_CORE),$(1)),$(VENV),$(BUILD)/venv-$(1))
next_minor   = $(word 2,$(subst ., ,$(1)))
COLL_PATH   := $(BUILD)/collections
COLL_LINK   := $(COLL_PATH)/ansible_collections/certfleet/acme
# Outside the checkout: ansible-test would otherwise list files through the
# enclosing git repository, which ignores .build. One copy per ansible-core release, so they run side by side.
SANITY_BASE := $(or $(TMPDIR),/tmp)/certfleet-sanity-$(shell echo "$(CURDIR)" | md5sum | cut -c1-8)
PYTEST_ARGS ?=
# Each part of make test ends with the seconds it took (bash counts SECONDS from the start of the recipe line).
TOOK = echo "[make test] took $$SECONDS s:"

export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLL_PATH)
export PYTHONPATH := $(COLL_PATH)
export ANSIBLE_PYTHON_INTERPRETER := $(VENV)/bin/python
export ANSIBLE_NOCOLOR := 1

.PHONY: help deps venv venvs collection demo test checks sanity lint unit ee galaxy-import integration molecule matrix
.PHONY: docs docs-lint changelog-lint changelog
.PHONY: bench format clean
.PHONY: $(addprefix sanity-,$(CORES)) $(addprefix unit-,$(CORES)) $(addprefix matrix-,$(OLDER_CORES))

help:
	@echo "make demo   issue certificates on a local Pebble + BIND9 rig and show them"
	@echo "make test   every check: sanity and unit on ansible-core $(CORES), lint, ee, galaxy-importer,"
	@echo "            changelog and docs lint, the docs site, integration, molecule,"
	@echo "            and a short role run on $(OLDER_CORES)"
	@echo "make ee     the execution environment's build context (.build/ee/context), checked"
	@echo "make docs   the documentation site as HTML (.build/docsite), checked"
	@echo "make changelog  CHANGELOG.md generated from changelogs/fragments"
	@echo "make bench  the fleet benchmark (not part of make test)"

deps:
	@bash scripts/install-system-deps.sh

# Each venv is made by its Python from $(pyenv root)/versions (or PATH); scripts/find_python.sh names a missing one.
$(VENV)/.installed: requirements.txt requirements-test.txt requirements-dev.txt scripts/make_venv.sh
	@bash scripts/make_venv.sh $(VENV) $(PY_$(MAIN_CORE)) requirements-dev.txt

$(BUILD)/venv-%/.installed: requirements.txt requirements-test.txt scripts/make_venv.sh
	@bash scripts/make_venv.sh $(BUILD)/venv-$* $(PY_$*) requirements-test.txt "ansible-core>=$*,<2.$(shell echo $$(( $(call next_minor,$*) + 1 )))"

venv: $(VENV)/.installed
venvs: venv $(foreach core,$(OLDER_CORES),$(BUILD)/venv-$(core)/.installed)

# Ansible finds the collection through a link under .build, so the working
# tree is what runs, without building and installing a tarball.
collection: venv
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn $(CURDIR) $(COLL_LINK)

demo: deps collection
	@bash scripts/demo.sh

# Two at a time where they do not share a rig: the sanity runs, the unit tests, lint and the EE context first;
# then the integration tests (two workers), molecule and the role runs on the older releases.
test: deps collection venvs
	@$(MAKE) --no-print-directory -j2 --output-sync=target checks
	@$(MAKE) --no-print-directory integration molecule
	@$(MAKE) --no-print-directory -j2 --output-sync=target matrix
	@echo "make test: all checks passed"

checks: $(addprefix sanity-,$(CORES)) $(addprefix unit-,$(CORES)) lint ee galaxy-import changelog-lint docs-lint docs

# ansible-test wants the collection at ansible_collections/<ns>/<name>; it is
# given a copy of the tracked and new files so .venv and .build stay out.
sanity: $(addprefix sanity-,$(CORES))

$(addprefix sanity-,$(CORES)): sanity-%: collection venvs
	@root=$(SANITY_BASE)-$*/ansible_collections/certfleet/acme; rm -rf $$root && mkdir -p $$root && \
	  git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c 'test -e "{}" && echo "{}"' \
	    | tar -cf - -T - | tar -xf - -C $$root && \
	  $(call venv_of,$*)/bin/python scripts/provide_get_pip.py && \
	  echo "ansible-test sanity: ansible-core $*, Python $(PY_$*)" && \
	  cd $$root && PATH=$(call venv_of,$*)/bin:$$PATH ansible-test sanity --venv --python $(PY_$*) --color no --truncate 0 && \
	  $(TOOK) sanity-$*

lint: collection
	ansible-lint --offline --profile production && $(TOOK) lint

unit: $(addprefix unit-,$(CORES))

$(addprefix unit-,$(CORES)): unit-%: collection venvs
	@echo "unit tests: ansible-core $*, Python $(PY_$*)"
	$(call venv_of,$*)/bin/python -m pytest -q -p no:cacheprovider tests/unit $(PYTEST_ARGS) && $(TOOK) unit-$*

# The execution environment's build context from the collection tarball; no container engine is needed for it.
# Build the image from it with `podman build -f Containerfile -t <tag> .build/ee/context`.
EE_DIR := $(BUILD)/ee
ee: venv
	@rm -rf $(EE_DIR)
	ansible-galaxy collection build --force --output-path $(EE_DIR)
	ansible-builder create -f execution-environment.yml -c $(EE_DIR)/context --output-filename Containerfile
	$(VENV)/bin/python scripts/check_ee_context.py execution-environment.yml $(EE_DIR)/context && $(TOOK) ee

integration: collection
	@# Two workers, each with its own rig (slot): much of a test is waiting on DNS and ACME. test_role_matrix.py
	@# is the short run for the older releases (make matrix); test_role.py covers it here.
	pytest -q -n 2 --dist loadfile tests/integration --ignore=tests/integration/test_role_matrix.py $(PYTEST_ARGS) && $(TOOK) integration

# Every scenario in extensions/molecule, full test sequence; on this machine, no container engine
# (the default scenario runs the role on localhost against the rig and a private nginx).
molecule: collection
	molecule test --all && $(TOOK) molecule

# galaxy-importer (Galaxy's own import checks: metadata, docs, ansible-lint) on the tarball, offline, in its own venv.
$(BUILD)/venv-importer/.installed: scripts/make_venv.sh
	@bash scripts/make_venv.sh $(BUILD)/venv-importer 3.12 /dev/null "galaxy-importer>=0.4.44,<0.5"

galaxy-import: $(BUILD)/venv-importer/.installed
	bash scripts/galaxy_import_check.sh $(BUILD)/venv-importer && $(TOOK) galaxy-import

# antsibull-changelog and antsibull-docs (with Sphinx for the HTML site) in their own venv.
$(BUILD)/venv-docs/.installed: requirements-docs.txt scripts/make_venv.sh
	@bash scripts/make_venv.sh $(BUILD)/venv-docs $(PY_$(MAIN_CORE)) requirements-docs.txt

# The fragments pass antsibull-changelog's lint and CHANGELOG.md is what they generate (`make changelog` writes it).
changelog-lint: $(BUILD)/venv-docs/.installed collection
	bash scripts/changelog_check.sh $(BUILD)/venv-docs && $(TOOK) changelog-lint

changelog: $(BUILD)/venv-docs/.installed collection
	bash scripts/changelog_check.sh --write $(BUILD)/venv-docs

docs-lint: $(BUILD)/venv-docs/.installed collection
	PATH=$(BUILD)/venv-docs/bin:$$PATH antsibull-docs lint-collection-docs --plugin-docs . && $(TOOK) docs-lint

# The collection's documentation site (modules, plugins, the role, the guides) as HTML under .build/docsite.
# After docs-lint, never beside it: both run antsibull-docs on the collection, and run together (make -j) the lint
# reads the other's half-written reference labels ("Unknown target name").
docs: $(BUILD)/venv-docs/.installed collection docs-lint
	bash scripts/build_docs.sh $(BUILD)/venv-docs && $(TOOK) docs

# On each older release: the role issues on the rig, a second run changes nothing, a failure reads right.
matrix: $(addprefix matrix-,$(OLDER_CORES))

$(addprefix matrix-,$(OLDER_CORES)): matrix-%: collection venvs
	@echo "role run: ansible-core $*, Python $(PY_$*)"
	$(call venv_of,$*)/bin/python -m pytest -q -p no:cacheprovider tests/integration/test_role_matrix.py $(PYTEST_ARGS) && $(TOOK) matrix-$*

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
