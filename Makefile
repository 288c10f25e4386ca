# sleepwake task runner. `make demo` and `make test` work on a fresh machine: both run `setup` first.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)
export SAM_CLI_TELEMETRY := 0

.PHONY: help setup lint test build deploy demo clean
help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv with every pinned dependency (idempotent)

$(STAMP): requirements-dev.txt $(wildcard requirements/*.txt) pyproject.toml
	@bash scripts/setup.sh
	@touch $@

lint: setup ## ruff, mypy, shellcheck, cfn-lint, sam validate --lint, checkov and the IAM policy lint (parliament)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy tests/handlers/conftest.py  # the handler tests' fakes against the adapter ports (control/ports.py)
	$(BIN)/shellcheck scripts/*.sh .ci/run
	$(BIN)/cfn-lint template.yaml
	.tools/sam/bin/sam validate --lint --region us-east-1
	.tools/checkov/bin/checkov -f template.yaml --framework cloudformation --skip-download --compact --quiet
	$(BIN)/python scripts/lint_iam.py

test: setup ## every test, offline
	$(BIN)/pytest

LAMBDA_PYTHON_BIN ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin))
build: setup ## sam build (needs python3.13, the Lambda runtime, on PATH; pyenv's is used when present)
	PATH="$(LAMBDA_PYTHON_BIN):$$PATH" .tools/sam/bin/sam build

deploy: build ## sam deploy --guided (needs AWS credentials)
	.tools/sam/bin/sam deploy --guided

clean: ## remove build output
	rm -rf .aws-sam build

include $(wildcard mk/*.mk)
