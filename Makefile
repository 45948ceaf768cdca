# confsync's front door. Every target works from a fresh clone: each depends on what it needs.
# Run `make help` for the list.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV         ?= .venv
RUN_DIR      ?= .run
BIN          := $(VENV)/bin
UV_VERSION   := 0.13.9
STAMP        := $(VENV)/.installed-stamp

# Fixed, overridable ports of the local emulators.
FIRESTORE_PORT ?= 8681
PUBSUB_PORT    ?= 8682
CALENDAR_PORT  ?= 8683
CONFERENCING_PORT ?= 8684
GOOGLE_AUTH_PORT ?= 8685
PROJECT        ?= confsync-local
# The local stack (`make up` / `make dev`): the functions' ports, the scheduler's tick interval in
# seconds, the functions' CONFSYNC_SOLUTION_NAMES (default: $CONFSYNC_SOLUTION_NAMES, else
# confsync's default), and extra flags for `devstack up`
# (e.g. STACK_ARGS='--set CONFSYNC_LEASE_SECONDS=60').
INTAKE_PORT    ?= 8691
SYNC_PORT      ?= 8692
CHANNELS_PORT  ?= 8693
TICK_INTERVAL  ?= 60
DEFAULT_SOLUTION_NAMES := My Web Conference,My Recorded Web Conference
SOLUTION_NAMES ?= $(or $(CONFSYNC_SOLUTION_NAMES),$(DEFAULT_SOLUTION_NAMES))
STACK_ARGS     ?=
STACK_FLAGS     = --project $(PROJECT) --firestore-port $(FIRESTORE_PORT) --pubsub-port $(PUBSUB_PORT) \
	--calendar-port $(CALENDAR_PORT) --conferencing-port $(CONFERENCING_PORT) \
	--google-auth-port $(GOOGLE_AUTH_PORT) \
	--intake-port $(INTAKE_PORT) --sync-port $(SYNC_PORT) --channels-port $(CHANNELS_PORT) \
	--tick-interval $(TICK_INTERVAL) --solution-names '$(SOLUTION_NAMES)' $(STACK_ARGS)

PYTEST_ARGS ?=
LINT_PATHS  := shared tools tests functions

.PHONY: help setup lint fmt typecheck test test-unit bench emulators down status calendar-emulator \
	conferencing-emulator lock clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements/constraints.txt
	@tools/check-prereqs $(PYTHON)
	@if [ ! -x $(BIN)/python ]; then \
	  py=$${PYTHON:-$$(for c in python3 python3.13 python3.12 python3.11; do \
	    command -v $$c >/dev/null && $$c -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	    && { echo $$c; break; }; done)}; \
	  echo "creating $(VENV) with $$py"; $$py -m venv $(VENV); fi
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@$(BIN)/uv pip install --quiet --python $(BIN)/python \
	  -c requirements/constraints.txt -e '.[dev]'
	@touch $@
	@echo "setup done: $(VENV) is ready"

setup: $(STAMP) ## create .venv and install the project and its dev tools (idempotent)

lint: setup checkov ## ruff (lint + format check), mypy --strict, terraform fmt -check and checkov
	$(BIN)/ruff check --no-cache $(LINT_PATHS)
	$(BIN)/ruff format --no-cache --check $(LINT_PATHS)
	@if command -v terraform >/dev/null 2>&1; then terraform fmt -check -recursive terraform; \
	else echo "terraform not found: install Terraform (only 'terraform fmt' runs here)" >&2; exit 1; fi
	$(BIN)/mypy shared tools tests functions

# checkov lives in its own virtual environment: it pins shared libraries (packaging, ...) to
# versions the project's tools do not accept. It runs offline: no policy download, no mapping
# or version lookups.
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-stamp

$(CHECKOV_STAMP): requirements/checkov.txt | $(STAMP)
	@if [ ! -x $(CHECKOV_VENV)/bin/python ]; then $(BIN)/python -m venv $(CHECKOV_VENV); fi
	@$(BIN)/uv pip sync --quiet --python $(CHECKOV_VENV)/bin/python requirements/checkov.txt
	@touch $@

.PHONY: checkov
checkov: $(CHECKOV_STAMP) ## checkov over terraform/ (offline; every skip is inline and justified)
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov \
	  -d terraform --framework terraform --quiet --compact --skip-download

typecheck: setup ## mypy --strict only
	$(BIN)/mypy shared tools tests functions

fmt: setup ## format the code and the Terraform, and apply safe lint fixes
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)
	terraform fmt -recursive terraform

test: lint ## lint, type check and the whole test suite (starts the emulators it needs)
	@mkdir -p $(RUN_DIR)
	@rc=0; $(BIN)/pytest $(PYTEST_ARGS) || rc=$$?; echo $$rc > $(RUN_DIR)/pytest-exit-code; exit $$rc

# One target per test tier (a folder under tests/); tests/tools/test_make_targets.py keeps the two
# lists in step. PYTEST_ARGS passes through (e.g. PYTEST_ARGS='-k renewal -x').
.PHONY: test-contracts test-integration test-functions test-e2e test-emulators test-tools \
	test-terraform test-conformance

test-unit: setup ## the product's unit tests only (no emulators, a few seconds)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-contracts: setup ## one contract per port, run against the fakes and the real adapters
	$(BIN)/pytest tests/contracts $(PYTEST_ARGS)

test-integration: setup ## adapters and sync scenarios against local emulators (minutes)
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

test-functions: setup ## the three Cloud Functions under functions-framework, on emulators
	$(BIN)/pytest tests/functions $(PYTEST_ARGS)

test-e2e: setup ## the whole local stack via devstack up, driven from outside (slow)
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

test-emulators: setup ## the Calendar, conferencing and Google auth emulators' own tests
	$(BIN)/pytest tests/emulators $(PYTEST_ARGS)

test-conformance: setup ## the Calendar conformance suite against the Calendar emulator (seconds)
	$(BIN)/pytest tests/conformance $(PYTEST_ARGS)

test-tools: setup ## tests of tools/: devstack, bench, chaos, deploy and the test support
	$(BIN)/pytest tests/tools $(PYTEST_ARGS)

test-terraform: setup ## static checks of the Terraform module (structure, monitoring)
	$(BIN)/pytest tests/terraform $(PYTEST_ARGS)

# The same suite against Google's Calendar API as a Workspace test user (CONFSYNC_TEST_* variables;
# README "After make deploy: check against Google"). Exits 2, calling nothing, without them.
.PHONY: conformance-live
conformance-live: setup ## the Calendar conformance suite against Google as a test user; .run/conformance
	$(BIN)/python -m conformance --report $(RUN_DIR)/conformance/unconfirmed.md

bench: setup ## run the benchmarks; figures in .run/bench/results.json (never pass/fail)
	$(BIN)/python -m bench $(if $(SCENARIOS),--only $(SCENARIOS))

.PHONY: bench-enroll
bench-enroll: setup ## enrolments per second through /v1/enroll and confsync enroll --from-file; .run/bench/enroll.json
	$(BIN)/python -m bench --only enroll --output $(RUN_DIR)/bench/enroll.json

.PHONY: bench-flood
bench-flood: setup ## forged requests flood intake while genuine edits must arrive; .run/bench/flood.json
	$(BIN)/python -m bench --only flood --output $(RUN_DIR)/bench/flood.json

SEEDS ?= 5
.PHONY: chaos
chaos: setup ## chaos suite: seeds 1..SEEDS (default 5) under faults on a private stack
	$(BIN)/python -m chaos --seeds $(SEEDS)

emulators: setup ## start the Firestore and Pub/Sub emulators in the background
	$(BIN)/devstack --run-dir $(RUN_DIR) emulators --firestore-port $(FIRESTORE_PORT) \
	  --pubsub-port $(PUBSUB_PORT) --project $(PROJECT)

.PHONY: up dev tick demo

up: setup ## start the whole local stack in the background (emulators, functions, scheduler)
	$(BIN)/devstack --run-dir $(RUN_DIR) up $(STACK_FLAGS)

dev: setup ## up, then follow every part's log until Ctrl-C, then down
	$(BIN)/devstack --run-dir $(RUN_DIR) dev $(STACK_FLAGS)

demo: setup ## the seed's story on a private stack (free ports, temp dir): each step and its latency
	$(BIN)/python -m devstack.demo

# The smoke test (docs/runbooks/smoke-test-a-deployment.md). `make smoke`: the deployed stack, from
# Terraform's outputs (OUTPUTS=FILE: a saved `terraform output -json` instead); `make smoke-local`:
# the same steps against `make up`'s stack, or a private one when none runs (tests/e2e runs it).
OUTPUTS ?=
.PHONY: smoke smoke-local

smoke: setup ## after make deploy: a scratch calendar's conference created, moved, deleted; latencies
	$(BIN)/python -m smoke --stack deployed $(if $(OUTPUTS),--outputs '$(OUTPUTS)')

smoke-local: setup ## the smoke against make up's stack (a private one when none runs)
	$(BIN)/python -m smoke --stack local --run-dir $(RUN_DIR)

tick: setup ## publish one scheduler tick to channel-commands now
	$(BIN)/devstack --run-dir $(RUN_DIR) tick

down: ## stop exactly the processes `make up` or `make emulators` started
	@if [ -x $(BIN)/devstack ]; then $(BIN)/devstack --run-dir $(RUN_DIR) down; \
	else echo "nothing to stop (no $(VENV))"; fi

status: setup ## list the background processes and their logs
	$(BIN)/devstack --run-dir $(RUN_DIR) status

calendar-emulator: setup ## run the Calendar API emulator in the foreground on CALENDAR_PORT
	$(BIN)/calendar-emulator --host 127.0.0.1 --port $(CALENDAR_PORT)

conferencing-emulator: setup ## run the conferencing emulator in the foreground on CONFERENCING_PORT
	$(BIN)/conferencing-emulator --host 127.0.0.1 --port $(CONFERENCING_PORT)

lock: setup ## re-pin requirements/constraints.txt from pyproject.toml (keeps unchanged pins)
	@cp requirements/constraints.txt requirements/constraints.txt.new
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra emulators --extra cli --python-version 3.11 \
	  --no-header --no-annotate --quiet -o requirements/constraints.txt.new
	@{ echo "# Exact versions for reproducible installs (make setup uses it as a constraints file)."; \
	   echo "# Regenerate with \`make lock\` after changing dependencies in pyproject.toml."; \
	   cat requirements/constraints.txt.new; } > requirements/constraints.txt
	@rm requirements/constraints.txt.new
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --no-header --no-annotate --quiet \
	  -c requirements/constraints.txt -o requirements/runtime.txt.new
	@{ echo "# The Cloud Functions' runtime dependency closure, exact versions (the pins of constraints.txt),"; \
	   echo "# bundled into every function zip as requirements.txt. Regenerate with \`make lock\`."; \
	   cat requirements/runtime.txt.new; } > requirements/runtime.txt
	@rm requirements/runtime.txt.new

# Production (`make plan` / `deploy` / `destroy`): PROJECT must be given explicitly (the local
# default above is never deployed to), REGION too; STATE_BUCKET defaults to PROJECT-tfstate;
# TFVARS names a .tfvars file with the module's required variables; CONFIRM=PROJECT skips
# destroy's question; AUTO_APPROVE=1 applies without asking.
REGION       ?=
STATE_BUCKET ?=
STATE_PREFIX ?= confsync
TFVARS       ?=
CONFIRM      ?=
AUTO_APPROVE ?=
DEPLOY_PROJECT = $(if $(filter file,$(origin PROJECT)),,$(PROJECT))
DEPLOY_FLAGS   = --project '$(DEPLOY_PROJECT)' --region '$(REGION)' --state-bucket '$(STATE_BUCKET)' \
	--state-prefix '$(STATE_PREFIX)' --tfvars '$(TFVARS)'

.PHONY: bundle plan deploy destroy

bundle: setup ## build the three function zips (reproducible) into .run/bundle
	$(BIN)/devstack --run-dir $(RUN_DIR) bundle

plan: setup ## preflight, bundle, terraform plan (PROJECT=... REGION=... TFVARS=...)
	$(BIN)/devstack --run-dir $(RUN_DIR) plan $(DEPLOY_FLAGS)

deploy: setup ## preflight, bundle, secrets check, terraform apply (all of it), next steps
	$(BIN)/devstack --run-dir $(RUN_DIR) deploy $(DEPLOY_FLAGS) $(if $(AUTO_APPROVE),--auto-approve)

destroy: setup ## terraform destroy, after typing the project id (or CONFIRM=PROJECT)
	$(BIN)/devstack --run-dir $(RUN_DIR) destroy $(DEPLOY_FLAGS) --confirm '$(CONFIRM)'

clean: down ## remove the virtual environment, caches and run state
	rm -rf $(VENV) $(CHECKOV_VENV) $(RUN_DIR) .mypy_cache .ruff_cache .pytest_cache .hypothesis confsync.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
