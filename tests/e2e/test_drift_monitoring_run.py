"""End-to-end: ``kedro run --pipelines drift_monitoring`` (a messy batch file, none;
the same batch read whole and, with ``--env dask``, piece by piece on a 2-worker
LocalCluster), ``drift_simulation`` and ``drift_monitoring_model`` in KedroSessions,
after data_processing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from kedro.framework.project import pipelines as registered_pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from student_performance.datasets import RawCSVDataset
from tests.conftest import (
    PROJECT_ROOT,
    latest_mlflow_run,
    make_project_copy,
    run_kedro,
)
from tests.drift.ordered_model import ordered_model
from tests.scoring.conftest import write_messy_copies

pytestmark = pytest.mark.slow

REPORTING = Path("data/08_reporting")
SIMULATED = Path("data/08_reporting/drift_simulated_batches")
KINDS = {
    "feature_shift",
    "missing_values",
    "label_imbalance",
    "unseen_categories",
    "combined",
}


def _artifacts(run_id: str) -> set[str]:
    return {a.path for a in mlflow.MlflowClient().list_artifacts(run_id)}


@pytest.fixture(scope="module")
def fitted_model(primary_table, dataset_schema):
    """The champion's interface: drift predicts through ``core.inference``."""
    return ordered_model(primary_table, dataset_schema)


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy whose primary table exists (data_processing has run once for
    the module: every test here only reads it)."""
    project = make_project_copy(tmp_path_factory.mktemp("drift"))
    run_kedro(project, ["data_processing"], env="test")
    return project


def messy_batch(messy_file: Path, path: Path) -> Path:
    """A drifted batch as teams receive them: odd case and spaces, missing tokens, an
    extra column, a value the schema does not know, most students coached outside."""
    raw = pd.read_csv(messy_file, dtype="string", keep_default_na=False).head(300)
    raw["coaching"] = [" oa ", "OA", " Oa", "wa", " NaN "] * 60
    raw.loc[:19, "medium"] = " HINDI "
    raw["notes"] = "extra column"
    raw.to_csv(path, index=False)
    return path


def test_fresh_clone_runs_the_simulations(processed):
    run_kedro(processed, ["drift_simulation"], env="test")

    simulations = json.loads(
        (processed / REPORTING / "drift_simulations.json").read_text()
    )
    assert set(simulations["showcase"]) == KINDS
    detection = pd.read_csv(processed / REPORTING / "drift_detection.csv")
    assert len(detection) == len(KINDS) * 3  # conf/test: intensities 0, 0.5, 1
    strong = detection[detection["intensity"] >= 0.5]
    assert strong["detected"].eq(1.0).all(), strong.to_dict("records")
    assert {p.stem for p in (processed / SIMULATED).glob("*.csv")} == KINDS
    page = (processed / REPORTING / "drift_simulation_report.html").read_text()
    assert "Simulated combined" in page and "Plotly.newPlot" in page

    run = latest_mlflow_run()
    assert run.info.status == "FINISHED"
    assert run.data.metrics["drift.simulation.combined.detected"] == 1.0  # last step
    history = mlflow.MlflowClient().get_metric_history(
        run.info.run_id, "drift.simulation.feature_shift.detected"
    )
    assert sorted(m.step for m in history) == [0, 50, 100]
    assert _artifacts(run.info.run_id) >= {
        "drift_simulation_report.html",
        "drift_simulations.json",
        "drift_detection.csv",
    }


def test_without_a_batch_fails_saying_how_to_give_one(processed):
    with pytest.raises(Exception, match=r"no such file or folder: no batch to check"):
        run_kedro(processed, ["drift_monitoring"], env="test")


def test_messy_drifted_batch_is_drift(processed, messy_file, tmp_path):
    batch = messy_batch(messy_file, tmp_path / "batch.csv")
    run_kedro(
        processed,
        ["drift_monitoring"],
        env="test",
        runtime_params={"drift_batch": str(batch)},
    )
    report = json.loads((processed / REPORTING / "drift_report.json").read_text())
    assert report["batch"] == str(batch) and report["rows"] == 300
    assert report["status"] == "drift" and report["retrain_recommended"] is True
    columns = {c["column"]: c for c in report["columns"]}
    assert columns["coaching"]["level"] == "drift"
    assert columns["coaching"]["psi"] > 0.25
    assert columns["medium"]["unseen"]["values"] == {"HINDI": 20}
    assert columns["Performance"]["role"] == "target"
    assert columns["Gender"]["level"] == "ok"  # untouched columns stay quiet

    run = latest_mlflow_run()
    assert run.data.metrics["drift.status_code"] == 2
    assert run.data.metrics["drift.retrain_recommended"] == 1
    assert run.data.metrics["drift.psi.coaching"] > 0.25
    assert "drift.psi.Class_X_Percentage" in run.data.metrics
    assert run.data.metrics["drift.rows"] == 300


def test_the_shipped_file_as_a_batch_is_no_drift(processed, messy_file):
    """The training file itself (679 raw rows, duplicates included) against the
    primary table cleaned from it."""
    run_kedro(
        processed,
        ["drift_monitoring"],
        env="test",
        runtime_params={"drift_batch": str(messy_file)},
    )
    report = json.loads((processed / REPORTING / "drift_report.json").read_text())
    assert report["status"] == "ok", report["reasons"]
    assert report["rows"] == 679


def test_batch_missing_columns_fails_naming_them(processed, messy_file, tmp_path):
    raw = pd.read_csv(messy_file, dtype="string", keep_default_na=False)
    path = tmp_path / "narrow.csv"
    raw.drop(columns=["Caste", "medium"]).to_csv(path, index=False)
    with pytest.raises(
        Exception, match=r"required columns missing: \['Caste', 'medium'\]"
    ):
        run_kedro(
            processed,
            ["drift_monitoring"],
            env="test",
            runtime_params={"drift_batch": str(path)},
        )


LARGE_COPIES = 12
# Small pieces and a small model sample, so that a run has many pieces and samples
# the rows for the model part (conf: 50,000 and 100,000).
READING = {"chunk_rows": 500, "model_rows": 1000}


@pytest.fixture(scope="module")
def large_batch(tmp_path_factory, messy_file) -> Path:
    """The drifted messy batch 12 times in one CSV file, a bad record after each copy
    (too few fields, an extra field, a caste the schema does not know)."""
    folder = tmp_path_factory.mktemp("large_batch")
    one = messy_batch(messy_file, folder / "one.csv")
    return write_messy_copies(one, folder / "large.csv", LARGE_COPIES)


def _drift_report(project: Path, batch: Path, env: str | None) -> dict:
    params = {"drift_batch": str(batch), "drift_monitoring": {"reading": READING}}
    run_kedro(project, ["drift_monitoring"], env=env, runtime_params=params)
    return json.loads((project / REPORTING / "drift_report.json").read_text())


def _statistics(report: dict) -> dict:
    """Everything but how the batch was read (engine, workers, pieces) and its name."""
    return {k: v for k, v in report.items() if k not in {"reading", "batch"}}


@pytest.fixture(scope="module")
def whole_report(processed, large_batch) -> dict:
    """The base environment: the file read piece by piece and profiled in-process."""
    return _drift_report(processed, large_batch, None)


def test_env_dask_gives_the_statistics_of_the_whole_file(
    processed, large_batch, whole_report, monkeypatch
):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    by_dask = _drift_report(processed, large_batch, "dask")

    reading = by_dask["reading"]
    # base reads the same pieces in this process: the same sample for the model part
    # (the pieces against the file read as one frame: tests/drift/test_pieces.py)
    assert whole_report["reading"] == {**reading, "engine": "pandas", "workers": 1}
    assert reading["engine"] == "dask" and reading["workers"] == 2
    assert reading["pieces"] == 8  # 3,612 lines after the header, in pieces of 500
    # the bad records in turn: too few fields (malformed), 14 fields (a record: the
    # header has a 14th column, notes), 13 fields (malformed); 4 of each
    assert reading["malformed_records"] == 8
    assert reading["model_rows_sampled"] and 800 < reading["model_rows"] <= 1000
    # the statistics, to the last digit: counts, missing and unseen shares, tests,
    # p-values, PSI, JS, levels, alerts, verdict
    assert _statistics(by_dask) == _statistics(whole_report)
    assert by_dask["rows"] == 12 * 300 + 4  # the copies and the four 14-field records
    assert by_dask["status"] == "drift" and by_dask["retrain_recommended"] is True
    columns = {c["column"]: c for c in by_dask["columns"]}
    assert columns["medium"]["unseen"]["values"] == {"HINDI": 12 * 20}
    assert columns["coaching"]["missing"]["current"] > 0  # " NaN " counted missing
    assert columns["Performance"]["role"] == "target"
    run = latest_mlflow_run()
    assert run.data.metrics["drift.rows"] == by_dask["rows"]


def test_env_dask_reads_a_folder_of_csv_and_parquet(
    processed, large_batch, whole_report, tmp_path, monkeypatch
):
    """The same records as the large file, split into a CSV and a Parquet file."""
    rows = RawCSVDataset(filepath=str(large_batch)).load()  # malformed left out
    half = len(rows) // 2
    rows.iloc[:half].to_csv(tmp_path / "part-a.csv", index=False)
    rows.iloc[half:].to_parquet(tmp_path / "part-b.parquet", row_group_size=400)
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    by_dask = _drift_report(processed, tmp_path, "dask")

    assert by_dask["reading"]["malformed_records"] == 0
    assert by_dask["reading"]["pieces"] > 2
    assert _statistics(by_dask) == _statistics(whole_report)


@pytest.mark.browser
def test_html_report_renders_offline(processed, messy_file, tmp_path, offline_page):
    batch = messy_batch(messy_file, tmp_path / "batch.csv")
    run_kedro(
        processed,
        ["drift_monitoring"],
        env="test",
        runtime_params={"drift_batch": str(batch)},
    )
    page = offline_page
    page.goto((processed / REPORTING / "drift_report.html").as_uri())
    page.wait_for_function(
        "document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2"
    )
    assert page.locator(".js-plotly-plot").count() == 2  # PSI ranking, distributions
    assert page.locator(".js-plotly-plot .barlayer .point").count() > 20
    assert page.console_errors == []
    assert page.blocked == []


def test_model_part(processed, messy_file, tmp_path, fitted_model):
    bootstrap_project(processed)
    assert "drift_monitoring_model" in registered_pipelines
    with KedroSession.create(project_path=processed, env="test") as session:
        catalog = session.load_context().catalog
        catalog.save("model_selected", fitted_model)
        catalog.save(
            "model_set_calibration",
            {"level": 0.9, "contiguous": True, "thresholds": [0.8] * 4},
        )
    model_file = processed / "data/06_models/model_selected.pkl"
    calibration_file = processed / "data/06_models/set_calibration.json"
    metrics = {
        "model": "test",
        "cv": {"accuracy": 0.5, "f1_macro": 0.48},
        "holdout": {"accuracy": 0.45, "f1_macro": 0.44},
    }
    (processed / REPORTING / "selected_model_metrics.json").write_text(
        json.dumps(metrics)
    )
    batch = messy_batch(messy_file, tmp_path / "batch.csv")
    try:
        run_kedro(
            processed,
            ["drift_monitoring_model"],
            env="test",
            runtime_params={"drift_batch": str(batch)},
        )
    finally:
        model_file.unlink()  # the monitor script below runs without a model
        calibration_file.unlink()
    report = json.loads((processed / REPORTING / "model_drift_report.json").read_text())
    assert report["status"] == "drift" and report["retrain_recommended"]
    assert report["input"]["status"] == "drift"
    assert report["prediction"]["column"] == "prediction"
    assert report["performance"]["status"] == "assessed"
    sets = json.loads((processed / REPORTING / "set_size_drift.json").read_text())
    assert sets["current_mean_set_size"] is not None
    run = latest_mlflow_run()
    assert run.data.metrics["drift_model.status_code"] == 2
    assert "drift_model.accuracy" in run.data.metrics
    assert "model_drift_report.json" in _artifacts(run.info.run_id)


def _monitor(project: Path, *args: str) -> str:
    """scripts/monitor_and_retrain.sh in a project copy, training not run (DRY_RUN)."""
    env = os.environ | {
        "PROJECT_DIR": str(project),
        "KEDRO": str(Path(sys.executable).with_name("kedro")),
        "KEDRO_ENV": "test",
        "DRY_RUN": "1",
    }
    done = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts/monitor_and_retrain.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_monitor_script_retrains_only_when_recommended(processed, messy_file, tmp_path):
    drifted = _monitor(processed, str(messy_batch(messy_file, tmp_path / "batch.csv")))
    assert "monitor: status drift, retrain recommended: true" in drifted
    assert "monitor: would run:" in drifted and "run --pipelines training" in drifted
    same = _monitor(processed, str(messy_file))
    assert "monitor: status ok, retrain recommended: false" in same
    assert "monitor: no retraining" in same


def test_monitor_script_needs_a_batch(processed):
    with pytest.raises(subprocess.CalledProcessError) as failed:
        _monitor(processed)
    assert failed.value.returncode == 2
    assert "usage" in failed.value.stderr
