"""End-to-end: ``kedro run --pipelines data_processing,drift_monitoring`` in a
KedroSession, with no batch (simulations) and with a messy batch file; the model part
through ``drift_monitoring_model``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from kedro.framework.project import pipelines as registered_pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from tests.conftest import PROJECT_ROOT, latest_mlflow_run, run_kedro

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


@pytest.fixture
def processed(project_copy, messy_file) -> Path:
    """A project copy whose primary table exists (data_processing has run)."""
    shutil.copy(messy_file, project_copy / "data/01_raw" / messy_file.name)
    run_kedro(project_copy, ["data_processing"], env="test")
    return project_copy


def messy_batch(messy_file: Path, path: Path) -> Path:
    """A drifted batch as teams receive them: odd case and spaces, missing tokens, an
    extra column, a value the schema does not know, most students coached outside."""
    raw = pd.read_csv(messy_file, dtype="string", keep_default_na=False).head(300)
    raw["coaching"] = [" oa ", "OA", " Oa", "wa", " NaN "] * 60
    raw.loc[:19, "medium"] = " HINDI "
    raw["notes"] = "extra column"
    raw.to_csv(path, index=False)
    return path


def test_fresh_clone_without_a_batch_runs_the_simulations(processed):
    start = time.perf_counter()
    run_kedro(processed, ["drift_monitoring"], env="test")
    elapsed = time.perf_counter() - start
    assert elapsed <= 10, f"test-env drift_monitoring run took {elapsed:.1f} s"

    report = json.loads((processed / REPORTING / "drift_report.json").read_text())
    assert report["status"] == "no_batch" and report["retrain_recommended"] is False
    simulations = json.loads(
        (processed / REPORTING / "drift_simulations.json").read_text()
    )
    assert simulations["ran"] and set(simulations["showcase"]) == KINDS
    detection = pd.read_csv(processed / REPORTING / "drift_detection.csv")
    assert len(detection) == len(KINDS) * 3  # conf/test: intensities 0, 0.5, 1
    strong = detection[detection["intensity"] >= 0.5]
    assert strong["detected"].eq(1.0).all(), strong.to_dict("records")
    assert {p.stem for p in (processed / SIMULATED).glob("*.csv")} == KINDS
    page = (processed / REPORTING / "drift_report.html").read_text()
    assert "Simulated combined" in page and "Plotly.newPlot" in page

    run = latest_mlflow_run()
    assert run.info.status == "FINISHED"
    assert run.data.metrics["drift.status_code"] == -2
    assert run.data.metrics["drift.simulation.combined.detected"] == 1.0  # last step
    history = mlflow.MlflowClient().get_metric_history(
        run.info.run_id, "drift.simulation.feature_shift.detected"
    )
    assert sorted(m.step for m in history) == [0, 50, 100]
    assert _artifacts(run.info.run_id) >= {
        "drift_report.json",
        "drift_report.html",
        "drift_simulations.json",
        "drift_detection.csv",
    }


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
    simulations = json.loads(
        (processed / REPORTING / "drift_simulations.json").read_text()
    )
    assert simulations["ran"] is False

    run = latest_mlflow_run()
    assert run.data.metrics["drift.status_code"] == 2
    assert run.data.metrics["drift.retrain_recommended"] == 1
    assert run.data.metrics["drift.psi.coaching"] > 0.25
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


def test_model_part(processed, messy_file, tmp_path, fitted_model_e2e):
    bootstrap_project(processed)
    assert "drift_monitoring_model" in registered_pipelines
    with KedroSession.create(project_path=processed, env="test") as session:
        catalog = session.load_context().catalog
        catalog.save("model_selected", fitted_model_e2e)
        catalog.save(
            "model_set_calibration",
            {"level": 0.9, "contiguous": True, "thresholds": [0.8] * 4},
        )
    metrics = {
        "model": "test",
        "cv": {"accuracy": 0.5, "macro_f1": 0.48},
        "holdout": {"accuracy": 0.45, "macro_f1": 0.44},
    }
    (processed / REPORTING / "selected_model_metrics.json").write_text(
        json.dumps(metrics)
    )
    batch = messy_batch(messy_file, tmp_path / "batch.csv")
    run_kedro(
        processed,
        ["drift_monitoring_model"],
        env="test",
        runtime_params={"drift_batch": str(batch)},
    )
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


@pytest.fixture
def fitted_model_e2e(processed, dataset_schema):
    """A small real classifier fitted on the run's primary table."""
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import OrdinalEncoder  # noqa: PLC0415

    table = pd.read_parquet(processed / "data/03_primary/prm_students.parquet")
    model = make_pipeline(
        OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=-1,
            encoded_missing_value=-1,
        ),
        LogisticRegression(max_iter=1000),
    )
    target = dataset_schema.target.name
    return model.fit(table[dataset_schema.feature_names], table[target].astype(str))


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
