# The two set-up commands of the README are `make run` and `make test`; both create
# .venv when it is missing and install the pinned requirements into it first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= $(shell command -v python3.11 || command -v python3)
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip --disable-pip-version-check

# kedro-telemetry is installed with kedro: never let it reach the network.
export KEDRO_DISABLE_TELEMETRY := 1

.PHONY: help install system-deps run train test lint format clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -r requirements-dev.txt
	$(PIP) install -q --no-deps -e .
	@touch $@

install: $(STAMP) ## Create .venv (if missing) and install the pinned requirements

system-deps: ## Install the Debian packages the browser and database tests use (as root)
	@bash scripts/install_system_deps.sh

run: install ## Run the default pipeline on the shipped data and print a summary
	$(BIN)/kedro run

test: install system-deps ## Run the whole test suite
	$(BIN)/pytest

lint: install ## ruff check and ruff format --check
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

clean: ## Remove generated data, reports, the MLflow store and caches (keeps .venv)
	find data -mindepth 2 -type f ! -name .gitkeep ! -path 'data/01_raw/*' -delete
	rm -rf mlruns mlartifacts mlflow.db build .viz .pytest_cache .ruff_cache
