#!/usr/bin/env bash
# Drift monitoring, then retraining when the report recommends it (`make monitor`).
#
#   scripts/monitor_and_retrain.sh path/to/batch.csv
#
# 1. kedro run --pipelines drift_monitoring --params drift_batch=<batch>
#    (drift_monitoring_model instead, which adds prediction and performance drift, when
#    a trained model exists);
# 2. reads the verdict (data/08_reporting/model_drift_report.json or drift_report.json)
#    with student_performance.monitoring, as the Airflow monitoring DAG does;
# 3. when retrain_recommended is true: kedro run --pipelines training. Promotion is then
#    decided by the model registry's gate, not here.
# A batch is required (the seeded simulations are `kedro run --pipelines drift_simulation`).
#
# Environment: KEDRO_ENV (conf environment, read by Kedro itself), KEDRO (the kedro
# executable, default .venv/bin/kedro), PROJECT_DIR (default: this script's project),
# DRY_RUN=1 (print the training command instead of running it).
# Exit status: 2 without a readable batch, non-zero when a kedro command fails; 0
# otherwise, whatever the verdict.
set -euo pipefail

PROJECT_DIR="${PROJECT_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
KEDRO="${KEDRO:-$PROJECT_DIR/.venv/bin/kedro}"
PYTHON="$(dirname "$KEDRO")/python"
BATCH="${1:-}"
MODEL="$PROJECT_DIR/data/06_models/model_selected.pkl"
export KEDRO_DISABLE_TELEMETRY=1

if [[ -z "$BATCH" ]]; then
    echo "monitor: usage: $0 path/to/batch.csv (make monitor BATCH=...)" >&2
    exit 2
fi
if [[ ! -f "$BATCH" ]]; then
    echo "monitor: batch file not found: $BATCH" >&2
    exit 2
fi
BATCH="$(realpath "$BATCH")"  # kedro runs from the project root
cd "$PROJECT_DIR"

pipeline=drift_monitoring
report=data/08_reporting/drift_report.json
if [[ -f "$MODEL" ]]; then
    pipeline=drift_monitoring_model
    report=data/08_reporting/model_drift_report.json
fi

args=(run --pipelines "$pipeline" --params "drift_batch=$BATCH")
echo "monitor: $KEDRO ${args[*]}"
"$KEDRO" "${args[@]}"

# the same reading of the report as the Airflow monitoring DAG's
read -r status retrain action < <("$PYTHON" -m student_performance.monitoring "$report")
echo "monitor: status $status, retrain recommended: $retrain ($report)"
echo "monitor: $action"

if [[ "$retrain" == "true" ]]; then
    if [[ "${DRY_RUN:-0}" == "1" ]]; then
        echo "monitor: would run: $KEDRO run --pipelines training"
    else
        echo "monitor: retraining: $KEDRO run --pipelines training"
        "$KEDRO" run --pipelines training
    fi
else
    echo "monitor: no retraining"
fi
