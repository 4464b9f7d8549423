#!/usr/bin/env bash
# A real MLflow tracking server for the prod environment (`make mlflow-server`):
# SQLite backend store and artifact folder inside the project, loopback only, artifacts
# uploaded and downloaded through the server (--serve-artifacts).
#
#   MLFLOW_SERVER_PORT   port on 127.0.0.1 (default 5001; `make mlflow-ui` uses 5000)
#   MLFLOW_SERVER_DIR    folder for backend.db and artifacts/ (default ./mlflow_server,
#                        git-ignored)
#   MLFLOW               the mlflow executable (default .venv/bin/mlflow)
#
# Then, in another shell:
#   export MLFLOW_TRACKING_URI=http://127.0.0.1:${MLFLOW_SERVER_PORT:-5001}
#   kedro run --pipelines training --env prod
set -euo pipefail
cd "$(dirname "$0")/.."

port="${MLFLOW_SERVER_PORT:-5001}"
dir="${MLFLOW_SERVER_DIR:-$PWD/mlflow_server}"
mlflow="${MLFLOW:-$PWD/.venv/bin/mlflow}"
mkdir -p "$dir/artifacts"
# MLflow's background job runner (GenAI evaluation jobs, ~10 extra processes) is not
# used by this project: off unless asked for.
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION="${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false}"
dir="$(cd "$dir" && pwd)"

echo "mlflow_server: http://127.0.0.1:$port (backend sqlite:///$dir/backend.db, artifacts $dir/artifacts)"
# exec: the server replaces this shell, so stopping this process group stops it.
exec "$mlflow" server \
  --host 127.0.0.1 \
  --port "$port" \
  --workers 1 \
  --backend-store-uri "sqlite:///$dir/backend.db" \
  --serve-artifacts \
  --artifacts-destination "$dir/artifacts"
