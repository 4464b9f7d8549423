"""run_kedro: what a scheduler's task calls, on a project copy with its own store."""

from __future__ import annotations

import os

import mlflow
import pytest

from student_performance.orchestration import run_kedro
from student_performance.paths import PROJECT_HOME_ENV
from tests.conftest import make_project_copy


@pytest.mark.slow
def test_run_kedro_runs_a_pipeline_and_reports_its_mlflow_run(tmp_path, monkeypatch):
    project = make_project_copy(tmp_path / "project")
    monkeypatch.chdir(tmp_path)  # run_kedro moves into the project itself
    # restored after the test; run_kedro points it at the project it runs
    monkeypatch.setenv(PROJECT_HOME_ENV, str(tmp_path))

    result = run_kedro(project, "data_processing", "local", load=("rpt_data_quality",))

    assert os.environ[PROJECT_HOME_ENV] == str(project)
    assert result["pipeline"] == "data_processing" and result["env"] == "local"
    assert result["tracking_uri"] == mlflow.get_tracking_uri()
    assert mlflow.active_run() is None  # nothing left open to take the next run's logs
    run = mlflow.get_run(result["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    report = result["outputs"]["rpt_data_quality"]
    assert (report["rows_in"], report["rows_kept"]) == (679, 628)
    assert "decision" not in result  # only a training run meets the registry gate
    assert (project / "data/03_primary/prm_students.parquet").exists()
