#!/usr/bin/env bash
# Regenerate airflow/dags/ with kedro-airflow (`make airflow-dags`):
#   student_performance_training_dag.py                 kedro airflow create --pipelines training
#   student_performance_served_drift_monitoring_dag.py  ... --pipelines drift_monitoring --env served
# Templates in airflow/templates/, settings (DAG ids, schedules, grouping) in
# conf/base/airflow.yml; the output is then ruff-formatted, as the project's code is.
# Environment: KEDRO (default .venv-airflow/bin/kedro), RUFF (default .venv/bin/ruff),
# DAGS_DIR (default airflow/dags; `make airflow-test` compares a fresh copy with it).
set -euo pipefail
cd "$(dirname "$0")/.."
KEDRO="${KEDRO:-.venv-airflow/bin/kedro}"
RUFF="${RUFF:-.venv/bin/ruff}"
DAGS_DIR="${DAGS_DIR:-airflow/dags}"
export KEDRO_DISABLE_TELEMETRY=1
# `kedro airflow create` opens a Kedro session: keep kedro-mlflow's store out of the project
store="$(mktemp -d)"
trap 'rm -rf "$store"' EXIT
export MLFLOW_TRACKING_URI="sqlite:///$store/mlflow.db" MLFLOW_ARTIFACT_ROOT="$store/mlartifacts"

"$KEDRO" airflow create --pipelines training --group-by namespace \
    --jinja-file airflow/templates/training_dag.j2 --target-dir "$DAGS_DIR"
"$KEDRO" airflow create --pipelines drift_monitoring --env served --group-by namespace \
    --jinja-file airflow/templates/monitoring_dag.j2 --target-dir "$DAGS_DIR"
"$RUFF" check --silent --fix "$DAGS_DIR"
"$RUFF" format -q "$DAGS_DIR"
