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

.PHONY: help install system-deps run train rollback registry-status mlflow-ui mlflow-server viz jupyter docs benchmark test test-fast lint format clean
.PHONY: airflow-install airflow-dags airflow-test image image-test

LINTED := src tests benchmarks studies notebooks docs/source scripts airflow/dags
VIZ_PORT ?= 4141
JUPYTER_PORT ?= 8888
MLFLOW_SERVER_PORT ?= 5001
# Jupyter refuses to run as root without this flag.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# uv installs the same pinned requirements from PyPI in seconds (pip takes minutes); it is
# itself pinned and installed into the venv by pip, which stays the fallback (UV=0).
UV_VERSION := 0.13.9
UV ?= 1
ifeq ($(UV),1)
INSTALL = $(BIN)/uv pip install -q --python $(BIN)/python
else
INSTALL = $(PIP) install -q
endif

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(if $(filter 1,$(UV)),$(PIP) install -q uv==$(UV_VERSION))
	$(INSTALL) -r requirements-dev.txt
	$(INSTALL) --no-deps -e .
	@touch $@

install: $(STAMP) ## Create .venv (if missing) and install the pinned requirements

# Airflow's own virtualenv: the project's pins less fastapi (Airflow 3.3 needs < 0.137),
# then requirements-airflow.txt (Airflow, kedro-airflow). The project itself is installed
# as a package by `make airflow-test`, as a deployment would have it.
AIRFLOW_VENV ?= .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
AIRFLOW_PIP := $(AIRFLOW_VENV)/bin/python -m pip --disable-pip-version-check

ifeq ($(UV),1)
AIRFLOW_INSTALL = $(BIN)/uv pip install -q --python $(AIRFLOW_VENV)/bin/python
else
AIRFLOW_INSTALL = $(AIRFLOW_PIP) install -q
endif

$(AIRFLOW_STAMP): $(STAMP) requirements.txt requirements-airflow.txt pyproject.toml
	@test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	grep -v '^fastapi==' requirements.txt > $(AIRFLOW_VENV)/requirements-project.txt
	$(AIRFLOW_INSTALL) -r $(AIRFLOW_VENV)/requirements-project.txt -r requirements-airflow.txt
	@touch $@

airflow-install: $(AIRFLOW_STAMP) ## Create .venv-airflow: Airflow 3.3, kedro-airflow and the project's pins

system-deps: ## Install the Debian packages the browser, database and monitoring tests use (as root)
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

mlflow-server: install ## A real MLflow tracking server for --env prod on http://127.0.0.1:5001 (store in mlflow_server/)
	MLFLOW_SERVER_PORT=$(MLFLOW_SERVER_PORT) bash scripts/mlflow_server.sh

viz: install ## Browse the pipelines in kedro-viz on http://127.0.0.1:4141 (ENV=prod etc. for another conf env)
	$(BIN)/kedro viz run --host 127.0.0.1 --port $(VIZ_PORT) --no-browser $(if $(ENV),--env $(ENV),)

jupyter: install ## JupyterLab with the project loaded (kedro jupyter lab) on http://127.0.0.1:8888; notebooks/
	$(BIN)/kedro jupyter lab $(if $(ENV),--env $(ENV),) --ip 127.0.0.1 --port $(JUPYTER_PORT) --no-browser $(ALLOW_ROOT)

docs: install ## Build the documentation site into docs/build/html (warnings are errors)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs/source docs/build/html
	@echo "docs: open docs/build/html/index.html"

.PHONY: serve
serve: install ## Serve the registry's champion on http://127.0.0.1:8000 (uvicorn; docs/source/serving.md)
	$(BIN)/python -m student_performance.serving $(if $(ENV),--env $(ENV),)

.PHONY: monitoring-up monitoring-down
monitoring-up: install ## Prometheus :9090, Alertmanager :9093, Pushgateway :9091 on loopback, watching make serve
	bash scripts/monitoring.sh up

monitoring-down: ## Stop what make monitoring-up started
	bash scripts/monitoring.sh down

.PHONY: score
score: install ## Score a file, glob or folder with the champion: make score INPUT=path [ENV=dask]
	$(BIN)/kedro run --pipelines batch_scoring --params "batch_scoring.input=$(or $(INPUT),$(error INPUT is required: make score INPUT=path/to/records))" $(if $(ENV),--env $(ENV),)

.PHONY: monitor
monitor: install ## Check a batch for drift, retrain when recommended: make monitor BATCH=path/to/batch.csv
	bash scripts/monitor_and_retrain.sh $(BATCH)

airflow-dags: install $(AIRFLOW_STAMP) ## Regenerate airflow/dags/ with kedro-airflow (airflow/templates/, conf/base/airflow.yml)
	bash scripts/airflow_dags.sh

airflow-test: install $(AIRFLOW_STAMP) ## Both DAGs under `airflow dags test` (SQLite, temporary MLflow store): drift retrains, clean skips
	$(AIRFLOW_INSTALL) --no-deps --reinstall .
	$(AIRFLOW_VENV)/bin/python scripts/airflow_test.py

image: install ## Build the container image student-performance:<version> (Containerfile, podman)
	bash scripts/install_system_deps.sh image
	bash scripts/build_image.sh

image-test: install ## Build the image, run data_processing and serve in it, report its size
	bash scripts/install_system_deps.sh image
	bash scripts/image_test.sh

benchmark: install ## Time the pipelines against their bare floors (prints ratios; each in a project copy)
	$(BIN)/python benchmarks/training_benchmark.py
	$(BIN)/python benchmarks/drift_benchmark.py

.PHONY: benchmark-scoring
benchmark-scoring: install ## Batch scoring, CSV beside Parquet: floor vs pandas vs Dask engine (ROWS=1000000,5000000)
	$(BIN)/python benchmarks/scoring_benchmark.py $(if $(ROWS),--rows $(ROWS),)

.PHONY: study
study: install ## Model families beyond the candidates (make study SEEDS=10), the prediction sets' scores and their size against QWK, then fairness by group
	$(BIN)/kedro run --pipelines data_processing
	$(BIN)/python studies/model_ceiling.py --seeds $(or $(SEEDS),5)
	$(BIN)/python studies/prediction_sets.py
	$(BIN)/python studies/set_size_frontier.py
	$(BIN)/python studies/fairness.py

# pytest-xdist: one worker per core; a test file stays on one worker (--dist loadfile),
# so a server or cluster a module starts once is started once, and each worker trains
# the session's model once. WORKERS=0 runs in one process.
WORKERS ?= 2
XDIST := $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist loadfile)

test: install system-deps ## Run the whole test suite (WORKERS=2 processes)
	$(BIN)/pytest $(XDIST)

# The loop to run while coding: units, nodes and pipelines on in-memory catalogs; no
# browser, server, training run or notebook (markers slow, browser, server).
FAST_MARKERS := not slow and not browser and not server

test-fast: install ## Unit, node and pipeline tests only (under 25 s): the loop while coding
	$(BIN)/pytest -q $(XDIST) -m "$(FAST_MARKERS)"

lint: install ## ruff check and ruff format --check
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix $(LINTED)
	$(BIN)/ruff format $(LINTED)

clean: ## Remove generated data, reports, the MLflow store and caches (keeps .venv)
	find data -mindepth 2 -type f ! -name .gitkeep ! -path 'data/01_raw/*' -delete
	rm -rf mlruns mlartifacts mlflow.db mlflow.db.gate.lock mlflow_server build .viz docs/build docs/source/generated .pytest_cache .ruff_cache info.log*
	find . -name .ipynb_checkpoints -type d -not -path './.venv/*' -prune -exec rm -rf {} +
