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

.PHONY: help install system-deps run train rollback registry-status mlflow-ui benchmark test lint format clean

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

run: install ## Train and register the model, then run the default pipelines (reports, drift)
	$(BIN)/kedro run --pipelines training
	$(BIN)/kedro run

train: install ## kedro run --pipelines training: select, fit, log, register and gate the model
	$(BIN)/kedro run --pipelines training

rollback: install ## Give the champion alias back to the previous champion
	$(BIN)/python -m student_performance.registry rollback

registry-status: install ## Show which model versions are champion and challenger
	$(BIN)/python -m student_performance.registry status

mlflow-ui: install ## Browse the embedded MLflow store on http://127.0.0.1:5000
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db --host 127.0.0.1 --port 5000

benchmark: install ## Time the pipelines against their bare floors (prints ratios)
	$(BIN)/kedro run --pipelines data_processing
	$(BIN)/python benchmarks/training_benchmark.py

test: install system-deps ## Run the whole test suite
	$(BIN)/pytest

lint: install ## ruff check and ruff format --check
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

clean: ## Remove generated data, reports, the MLflow store and caches (keeps .venv)
	find data -mindepth 2 -type f ! -name .gitkeep ! -path 'data/01_raw/*' -delete
	rm -rf mlruns mlartifacts mlflow.db build .viz .pytest_cache .ruff_cache
