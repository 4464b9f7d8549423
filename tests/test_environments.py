"""Configuration environments: the same code, different behaviour per ``--env``.

- base: a default run needs no server and writes the embedded store (SQLite database
  and artifact folder) inside the project.
- local: a file in the git-ignored conf/local changes a default run, and only that.
- test: the suite's small, fast search.
- prod: tracking on a server named by MLFLOW_TRACKING_URI, with no fallback, and
  stricter thresholds. Training against a real server: tests/e2e/test_mlflow_server.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

import student_performance.settings as project_settings
from student_performance.drift.settings import DriftTestsParams, PerformanceParams
from student_performance.paths import PROJECT_HOME_ENV
from tests.conftest import run_kedro
from tests.e2e.background import restored_mlflow_uris

QUALITY_REPORT = "data/08_reporting/data_quality_report.json"


def load_config(project: Path, env: str | None, key: str) -> dict:
    """``key`` ("parameters", "mlflow", ...) as Kedro resolves it for ``--env env``."""
    loader = OmegaConfigLoader(
        conf_source=str(project / "conf"),
        env=env,
        **project_settings.CONFIG_LOADER_ARGS,
    )
    return loader[key]


@pytest.fixture
def restore_mlflow_uris():
    """kedro-mlflow sets MLflow's global URIs: give later tests back the session's."""
    with restored_mlflow_uris():
        yield


# --- base ------------------------------------------------------------------------
@pytest.mark.slow
def test_base_default_run_writes_the_embedded_store(
    project_copy, monkeypatch, restore_mlflow_uris
):
    """No MLFLOW_* variable: `kedro run` writes mlflow.db and mlartifacts/ in the
    project root (the `project_root` resolver, pointed at the copy by
    $STUDENT_PERFORMANCE_HOME)."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.delenv("MLFLOW_ARTIFACT_ROOT")
    monkeypatch.setenv(PROJECT_HOME_ENV, str(project_copy))

    run_kedro(project_copy, ["data_processing"])

    store = project_copy / "mlflow.db"
    assert store.is_file()
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{store}")
    experiment = client.get_experiment_by_name("student_performance")
    assert experiment.artifact_location == (project_copy / "mlartifacts").as_uri()
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.tags["project_path"] == str(project_copy)
    assert run.data.metrics, "no metric logged"
    assert all(key.startswith("data_quality.") for key in run.data.metrics)
    artifacts = list((project_copy / "mlartifacts").rglob("data_quality_report.json"))
    assert len(artifacts) == 1
    report = json.loads((project_copy / QUALITY_REPORT).read_text())
    assert report["quarantined_by_reason"]["duplicate"] == 45  # base: keep_first


# --- local -----------------------------------------------------------------------
LOCAL_OVERRIDE = """\
# a personal override: keep duplicated rows
dataset:
  duplicates: keep_all
"""


@pytest.mark.slow
def test_local_override_changes_a_default_run(project_copy):
    (project_copy / "conf/local/parameters.yml").write_text(LOCAL_OVERRIDE)

    run_kedro(project_copy, ["data_processing"])  # no --env: base + local

    report = json.loads((project_copy / QUALITY_REPORT).read_text())
    assert report["duplicates"]["policy"] == "keep_all"
    assert "duplicate" not in report["quarantined_by_reason"]
    assert report["rows_kept"] == report["rows_in"] - 6  # only the rows with no target
    kept = pd.read_parquet(project_copy / "data/03_primary/prm_students.parquet")
    assert len(kept) == report["rows_kept"]


def test_local_is_read_only_without_env(project_copy):
    (project_copy / "conf/local/parameters.yml").write_text(LOCAL_OVERRIDE)
    local = load_config(project_copy, None, "parameters")
    assert local["dataset"]["duplicates"] == "keep_all"
    for env in ("test", "prod"):
        params = load_config(project_copy, env, "parameters")
        assert params["dataset"]["duplicates"] == "keep_first", env


def test_local_folder_is_git_ignored_except_its_readme():
    from tests.conftest import PROJECT_ROOT  # noqa: PLC0415

    ignore = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert "conf/local/**" in ignore
    assert "!conf/local/README.md" in ignore
    assert "conf/**/*credentials*" in ignore
    assert (PROJECT_ROOT / "conf/local/README.md").is_file()


# --- test ------------------------------------------------------------------------
def test_test_env_shrinks_only_the_search(project_copy):
    base = load_config(project_copy, None, "parameters")
    test = load_config(project_copy, "test", "parameters")
    folds = {
        name: params["modelling"]["cv"]["n_splits"]
        * params["modelling"]["cv"]["n_repeats"]
        for name, params in (("base", base), ("test", test))
    }
    assert folds["test"] < folds["base"]
    # deep-merged: what conf/test does not set is base's
    assert test["modelling"]["split"] == base["modelling"]["split"]
    assert test["modelling"]["selection"] == base["modelling"]["selection"]
    assert test["dataset"] == base["dataset"]
    assert test["training"] == base["training"]


@pytest.mark.slow
def test_test_env_training_run_used_the_small_search(trained_project):
    """The session's `kedro run --pipelines training --env test` (conftest)."""
    folds = pd.read_csv(trained_project / "data/06_models/cv_folds.csv")
    test = load_config(trained_project, "test", "parameters")["modelling"]["cv"]
    per_candidate = folds.groupby("candidate").size()
    assert set(per_candidate) == {test["n_splits"] * test["n_repeats"]}
    assert set(folds["repeat"]) == set(range(test["n_repeats"]))


# --- prod ------------------------------------------------------------------------
def test_prod_without_tracking_uri_fails_with_a_clear_message(
    project_copy, monkeypatch, restore_mlflow_uris
):
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    bootstrap_project(project_copy)
    with KedroSession.create(project_path=project_copy, env="prod") as session:
        with pytest.raises(Exception, match="MLFLOW_TRACKING_URI") as err:
            session.load_context()
    assert "mlflow_tracking_uri" in str(err.value)
    # nothing fell back to a local store
    assert not (project_copy / "mlflow.db").exists()
    assert not (project_copy / "mlruns").exists()


@pytest.mark.slow  # a real `kedro` process
def test_prod_without_tracking_uri_says_so_in_one_line(project_copy):
    """The command line: one line naming the variable and how to set it, no
    traceback, exit status 1, and nothing written to a local store."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "kedro", "run", "--pipelines", "data_processing"]
        + ["--env", "prod"],
        cwd=project_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    errors = [line for line in result.stderr.splitlines() if "Error" in line]
    assert len(errors) == 1, output
    assert errors[0].startswith("Error: MLFLOW_TRACKING_URI is not set")
    assert "make mlflow-server" in errors[0]
    assert "export MLFLOW_TRACKING_URI=" in errors[0]
    assert "Traceback" not in output
    assert len(output.splitlines()) <= 5, output  # Kedro's start-up lines and this
    assert not (project_copy / "mlflow.db").exists()
    assert not (project_copy / "mlruns").exists()


def test_prod_tracks_on_the_server_from_the_environment(project_copy, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    prod = load_config(project_copy, "prod", "mlflow")
    base = load_config(project_copy, None, "mlflow")
    assert prod["server"]["mlflow_tracking_uri"] == "http://127.0.0.1:5999"
    assert prod["server"]["mlflow_registry_uri"] is None  # the same server
    # the server decides where artifacts go (mlflow server --serve-artifacts)
    assert prod["tracking"]["experiment"]["create_experiment_kwargs"] == {
        "artifact_location": None,
        "tags": None,
    }
    # mlflow.yml replaces base's top-level keys whole: prod repeats every block
    assert set(prod) == set(base)
    for block in ("disable_tracking", "run", "params"):
        assert prod["tracking"][block] == base["tracking"][block]
    assert (
        prod["tracking"]["experiment"]["name"] == base["tracking"]["experiment"]["name"]
    )


def test_prod_thresholds_are_stricter(project_copy):
    base = load_config(project_copy, None, "parameters")
    prod = load_config(project_copy, "prod", "parameters")

    assert prod["training"]["registry"]["tolerance"] == 0
    assert base["training"]["registry"]["tolerance"] > 0
    quality = "max_missing_share"
    assert (
        prod["data_processing"]["quality"][quality]
        < base["data_processing"]["quality"][quality]
    )
    tests_base = base["drift_monitoring"]["tests"]
    tests_prod = prod["drift_monitoring"]["tests"]
    for level in ("psi_drift", "missing_warning", "missing_drift", "unseen_warning"):
        assert tests_prod[level] < tests_base[level], level
    assert tests_prod["unseen_drift"] < tests_base["unseen_drift"]
    assert tests_prod["min_rows"] > tests_base["min_rows"]
    assert tests_prod["alpha"] == tests_base["alpha"]
    perf_base = base["drift_monitoring"]["performance"]
    perf_prod = prod["drift_monitoring"]["performance"]
    assert perf_prod["max_relative_drop"] < perf_base["max_relative_drop"]
    # still valid settings (warning levels below drift levels, ranges)
    DriftTestsParams.model_validate(tests_prod)
    PerformanceParams.model_validate(perf_prod)
    # deep-merged: everything prod does not set is base's
    assert prod["modelling"] == base["modelling"]
    assert prod["dataset"] == base["dataset"]
    assert prod["drift_simulation"] == base["drift_simulation"]


def test_prod_prediction_log_needs_its_database_url(project_copy, monkeypatch):
    """The service (student_performance.serving) on prod: the tracking server of
    MLFLOW_TRACKING_URI, and the prediction log only in the database named by
    PREDICTION_LOG_URL (base falls back to an SQLite file in the project)."""
    from student_performance.serving.config import load_settings  # noqa: PLC0415

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    prod = load_settings(project_copy, env="prod")
    assert prod.tracking_uri == "http://127.0.0.1:5999"
    variable = prod.prediction_log.url_env
    with pytest.raises(RuntimeError, match=variable):
        prod.prediction_log_url(environ={})
    url = "postgresql+psycopg://user:secret@127.0.0.1:5432/predictions"
    assert prod.prediction_log_url(environ={variable: url}) == url

    base = load_settings(project_copy, env=None)
    assert base.prediction_log_url(environ={}).startswith(f"sqlite:///{project_copy}")
