"""`make airflow-test`: both Airflow DAGs under `airflow dags test`, end to end.

Run by the Airflow virtualenv's Python (.venv-airflow: Airflow, kedro-airflow and the
project installed as a package). Everything lives in a temporary folder: AIRFLOW_HOME
with an SQLite database, an MLflow store, and a copy of the project (conf/, the raw
file; conf/test's small grids as its conf/local, so that training is quick) that the
DAGs find through $STUDENT_PERFORMANCE_HOME. The DAG files are the committed ones in
airflow/dags/.

1. The DAGs import without errors; `airflow dags show` prints both graphs.
2. student_performance_training: data_processing, then modelling; a first champion.
3. A prediction log with a day of traffic drawn from the training file and a day
   where the students' coaching has moved (feature drift).
4. student_performance_monitoring over the drifted day: drift, retraining recommended,
   the training task runs and registers a challenger (the gate decides promotion).
5. student_performance_monitoring over the clean day: no retraining, training skipped.

Prints a pass/fail line per check and exits non-zero when one fails; the temporary
folder is kept (and named) on failure.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import mlflow
import pandas as pd
import yaml
from sqlalchemy import MetaData, insert

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW = Path(sys.executable).with_name("airflow")
TRAINING_DAG = "student_performance_training"
MONITORING_DAG = "student_performance_monitoring"
CLEAN_DAY = datetime(2026, 1, 10)
DRIFTED_DAY = datetime(2026, 1, 11)
ROWS_PER_DAY = 300


class Checks:
    """Collects pass/fail lines; the summary is printed at the end."""

    def __init__(self) -> None:
        self.results: list[tuple[bool, str]] = []

    def check(self, ok: bool, what: str) -> bool:
        self.results.append((ok, what))
        print(f"airflow-test: {'PASS' if ok else 'FAIL'}  {what}", flush=True)
        return ok


def _project_copy(path: Path) -> Path:
    """conf/ (conf/test's parameters as conf/local), pyproject.toml, the raw file."""
    shutil.copytree(
        ROOT / "conf", path / "conf", ignore=shutil.ignore_patterns("local")
    )
    (path / "conf/local").mkdir()
    for parameters in (ROOT / "conf/test").glob("parameters_*.yml"):
        shutil.copy(parameters, path / "conf/local" / parameters.name)
    shutil.copy(ROOT / "pyproject.toml", path / "pyproject.toml")
    (path / "src").mkdir()  # Kedro wants the source folder; the package is installed
    shutil.copytree(ROOT / "data/01_raw", path / "data/01_raw")
    return path


def _environment(tmp: Path, project: Path) -> dict[str, str]:
    airflow_home = tmp / "airflow"
    store = tmp / "mlflow"
    return os.environ | {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "airflow/dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home}/airflow.db",
        "STUDENT_PERFORMANCE_HOME": str(project),
        "MLFLOW_TRACKING_URI": f"sqlite:///{store}/mlflow.db",
        "MLFLOW_ARTIFACT_ROOT": str(store / "mlartifacts"),
        "KEDRO_DISABLE_TELEMETRY": "1",
    }


def _airflow(env: dict[str, str], log: Path, *args: str) -> subprocess.CompletedProcess:
    """One `airflow` command; its output goes to `log` (and is returned)."""
    done = subprocess.run(
        [str(AIRFLOW), *args], env=env, capture_output=True, text=True, check=False
    )
    with log.open("a") as out:
        out.write(f"$ airflow {' '.join(args)}\n{done.stdout}\n{done.stderr}\n")
    return done


def _json(stdout: str) -> object:
    """The JSON document in a command's output (Airflow prints warnings before it)."""
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(("[", "{")):
            return json.loads("\n".join(lines[i:]))
    return None


def _task_states(airflow_db: Path, dag_id: str) -> dict[str, str]:
    """Task id to state, for the DAG's latest run."""
    with sqlite3.connect(airflow_db) as db:
        (run_id,) = db.execute(
            "SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1",
            (dag_id,),
        ).fetchone()
        rows = db.execute(
            "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?",
            (dag_id, run_id),
        ).fetchall()
    return dict(rows)


def _write_prediction_log(project: Path) -> None:
    """The served traffic of two days: one like the training file, one drifted."""
    from student_performance.schema import DatasetSchema  # noqa: PLC0415
    from student_performance.serving.log_table import (  # noqa: PLC0415
        log_table,
        make_engine,
    )

    params = yaml.safe_load((project / "conf/base/parameters.yml").read_text())
    schema = DatasetSchema.model_validate(params["dataset"])
    features = list(schema.feature_names)
    raw = pd.read_csv(
        project / "data/01_raw/student_entry_performance_modified.csv",
        dtype="string",
        keep_default_na=False,
        encoding="latin-1",
    )
    clean = raw[features].sample(ROWS_PER_DAY, random_state=0).reset_index(drop=True)
    drifted = clean.copy()
    # most students now coached outside their home town: a shift a model should follow
    drifted["coaching"] = (["OA", "OA", "OA", "WA"] * ROWS_PER_DAY)[:ROWS_PER_DAY]

    path = project / "data/07_model_output/prediction_log.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    metadata = MetaData()
    table = log_table("prediction_log", features, metadata)
    metadata.create_all(engine)
    rows = []
    for day, frame in ((CLEAN_DAY, clean), (DRIFTED_DAY, drifted)):
        for i, record in enumerate(frame.to_dict("records")):
            rows.append(
                {
                    "request_id": f"{day:%Y%m%d}-{i}",
                    "logged_at": day + timedelta(minutes=4 * i + 1),
                    "endpoint": "predict",
                    "model_name": "student_performance",
                    "model_version": "1",
                    "inputs_raw": record,
                    "inputs_clean": record,
                    **record,
                    "prediction": "Good",
                    "probabilities": {"Good": 1.0},
                    "latency_ms": 1.0,
                }
            )
    with engine.begin() as connection:
        connection.execute(insert(table), rows)
    engine.dispose()


def _versions(tracking_uri: str) -> list[str]:
    """The registered versions, each with its aliases: ``["1 champion", "2"]``."""
    client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    aliases: dict[str, list[str]] = {}
    for model in client.search_registered_models():
        for alias, version in model.aliases.items():
            aliases.setdefault(str(version), []).append(alias)
    versions = sorted(client.search_model_versions(), key=lambda v: int(v.version))
    return [
        " ".join([str(v.version), *sorted(aliases.get(str(v.version), []))])
        for v in versions
    ]


def _drift_run_tags(tracking_uri: str) -> dict[str, str]:
    """The `monitoring.*` tags of the newest drift_monitoring run."""
    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    experiment = client.get_experiment_by_name("student_performance")
    runs = client.search_runs(
        [experiment.experiment_id], order_by=["attributes.start_time DESC"]
    )
    tagged = [run for run in runs if "monitoring.status" in run.data.tags]
    tags = tagged[0].data.tags if tagged else {}
    return {
        k.removeprefix("monitoring."): v for k, v in tags.items() if "monitoring." in k
    }


def _show(text: str, keys: tuple[str, ...]) -> None:
    """The log lines that tell the outcome, indented."""
    for line in text.splitlines():
        if any(key in line for key in keys):
            print(f"    {line.strip()[:200]}")


def _dags_import(env: dict, log: Path, checks: Checks) -> bool:
    """1. Airflow's database, and both DAGs import without errors."""
    migrated = _airflow(env, log, "db", "migrate")
    if not checks.check(migrated.returncode == 0, "airflow db migrate (SQLite)"):
        print(migrated.stderr[-3000:])
        return False
    _airflow(env, log, "dags", "reserialize")  # parses the DAG folder into the database
    errors = _airflow(env, log, "dags", "list-import-errors", "--output", "json")
    listed = _airflow(env, log, "dags", "list", "--output", "json")
    dag_ids = {dag["dag_id"] for dag in _json(listed.stdout) or []}
    imported = _json(errors.stdout) == [] and {TRAINING_DAG, MONITORING_DAG} <= dag_ids
    checks.check(
        imported,
        f"the DAGs in {ROOT / 'airflow/dags'} import without errors: {sorted(dag_ids)}",
    )
    if not imported:
        print(errors.stdout[-3000:], errors.stderr[-3000:])
    return imported


def _dags_as_generated(env: dict, log: Path, tmp: Path, checks: Checks) -> None:
    """The committed DAGs are what `make airflow-dags` writes; their graphs shown."""
    fresh = tmp / "dags"
    generated = subprocess.run(
        ["bash", str(ROOT / "scripts/airflow_dags.sh")],
        env=env | {"DAGS_DIR": str(fresh), "KEDRO": str(AIRFLOW.with_name("kedro"))},
        capture_output=True,
        text=True,
        check=False,
    )
    committed = sorted((ROOT / "airflow/dags").glob("*.py"))
    same = generated.returncode == 0 and [p.name for p in committed] == sorted(
        p.name for p in fresh.glob("*.py")
    )
    same = same and all(
        p.read_text() == (fresh / p.name).read_text() for p in committed
    )
    checks.check(same, "airflow/dags/ is what `make airflow-dags` generates")
    if generated.returncode != 0:
        print(generated.stderr[-3000:])
    for dag_id in (TRAINING_DAG, MONITORING_DAG):
        shown = _airflow(env, log, "dags", "show", dag_id).stdout
        graph = shown[shown.find("digraph") :] if "digraph" in shown else shown
        print(f"--- airflow dags show {dag_id}\n{graph.strip()}")


def _training_dag(env: dict, log: Path, airflow_db: Path, checks: Checks) -> list:
    """2. training: a first champion. Returns the registered versions."""
    done = _airflow(env, log, "dags", "test", TRAINING_DAG, "2026-01-05")
    states = _task_states(airflow_db, TRAINING_DAG)
    versions = _versions(env["MLFLOW_TRACKING_URI"])
    checks.check(
        done.returncode == 0
        and states == {"data_processing": "success", "modelling": "success"}
        and len(versions) == 1
        and "champion" in versions[0].split(),
        f"{TRAINING_DAG}: tasks {states}; registered versions {versions}",
    )
    _show(done.stdout + done.stderr, ("registry:", "MLflow run"))
    return versions


def _drifted_day(
    env: dict, log: Path, airflow_db: Path, checks: Checks, versions: list
) -> None:
    """4. the drifted day, the interval [DRIFTED_DAY, DRIFTED_DAY + 1 day): retrains."""
    tracking_uri = env["MLFLOW_TRACKING_URI"]
    day_after = DRIFTED_DAY + timedelta(days=1)
    done = _airflow(env, log, "dags", "test", MONITORING_DAG, f"{day_after:%Y-%m-%d}")
    states = _task_states(airflow_db, MONITORING_DAG)
    tags = _drift_run_tags(tracking_uri)
    new_versions = _versions(tracking_uri)[len(versions) :]
    checks.check(
        done.returncode == 0
        and tags.get("served_since", "").startswith(f"{DRIFTED_DAY:%Y-%m-%d}")
        and tags.get("status") == "drift"
        and tags.get("retrain_recommended") == "True"
        and states.get("training") == "success"
        and states.get("skip_training") == "skipped"
        and states.get("record_outcome") == "success"
        and len(new_versions) == 1
        and new_versions[0].startswith(f"{tags.get('challenger_version')} "),
        f"{MONITORING_DAG} on the drifted day {DRIFTED_DAY:%Y-%m-%d}: "
        f"status {tags.get('status')}, tasks {states}, new versions {new_versions}, "
        f"promoted {tags.get('promoted')}",
    )
    _show(done.stdout + done.stderr, ("drift:", "registry:", "outcome:"))


def _clean_day(env: dict, log: Path, airflow_db: Path, checks: Checks) -> None:
    """5. the clean day, [CLEAN_DAY, DRIFTED_DAY): no retraining."""
    tracking_uri = env["MLFLOW_TRACKING_URI"]
    before = _versions(tracking_uri)
    done = _airflow(env, log, "dags", "test", MONITORING_DAG, f"{DRIFTED_DAY:%Y-%m-%d}")
    states = _task_states(airflow_db, MONITORING_DAG)
    tags = _drift_run_tags(tracking_uri)
    checks.check(
        done.returncode == 0
        and tags.get("served_since", "").startswith(f"{CLEAN_DAY:%Y-%m-%d}")
        and tags.get("retrain_recommended") == "False"
        and states.get("training") == "skipped"
        and states.get("skip_training") == "success"
        and states.get("record_outcome") == "success"
        and len(_versions(tracking_uri)) == len(before),
        f"{MONITORING_DAG} on the clean day {CLEAN_DAY:%Y-%m-%d}: "
        f"status {tags.get('status')}, tasks {states}, no new version",
    )
    _show(done.stdout + done.stderr, ("drift:", "no retraining:", "outcome:"))


def main() -> int:
    start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="airflow-test-"))
    project = _project_copy(tmp / "project")
    env = _environment(tmp, project)
    airflow_db = tmp / "airflow/airflow.db"
    log = tmp / "airflow-test.log"
    checks = Checks()
    print(f"airflow-test: AIRFLOW_HOME, MLflow store and project copy in {tmp}")
    if not _dags_import(env, log, checks):
        return 1
    _dags_as_generated(env, log, tmp, checks)
    versions = _training_dag(env, log, airflow_db, checks)
    _write_prediction_log(project)  # 3. the served traffic
    _drifted_day(env, log, airflow_db, checks, versions)
    _clean_day(env, log, airflow_db, checks)

    failed = [what for ok, what in checks.results if not ok]
    elapsed = time.monotonic() - start
    print(
        f"airflow-test: {'FAILED' if failed else 'PASSED'}: "
        f"{len(checks.results) - len(failed)} passed, {len(failed)} failed "
        f"in {elapsed:.0f} s"
    )
    if failed:
        print(f"airflow-test: logs and stores kept in {tmp} (airflow-test.log)")
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
