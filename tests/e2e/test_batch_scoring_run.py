"""End-to-end: ``kedro run --pipelines batch_scoring`` in a KedroSession on the trained
project copy, with the pandas engine and with ``--env dask`` (a 2-worker LocalCluster),
on a folder holding a CSV and a Parquet file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from student_performance.scoring.registered import RegisteredModelDataset
from tests.conftest import latest_mlflow_run, registered_model_name, run_kedro
from tests.scoring.conftest import write_messy_copies

pytestmark = pytest.mark.slow

REPORT = Path("data/08_reporting/scoring_report.json")
SCORED = Path("data/07_model_output/scored")
REJECTED = Path("data/07_model_output/scoring_rejected")
KEY = ["source_file", "source_line"]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory, messy_file) -> Path:
    """A folder: the messy file 3 times with bad records (CSV), and once as Parquet."""
    folder = tmp_path_factory.mktemp("cohort")
    write_messy_copies(messy_file, folder / "a.csv", 3)
    raw = pd.read_csv(messy_file, dtype="string", keep_default_na=False)
    raw.to_parquet(folder / "b.parquet", row_group_size=200)
    return folder


def _score(project: Path, cohort: Path, env: str | None) -> dict:
    params = {
        "batch_scoring": {
            "input": str(cohort),
            "model_name": registered_model_name(project),
            "reading": {"chunk_rows": 500},
        }
    }
    run_kedro(project, ["batch_scoring"], env=env, runtime_params=params)
    scored = pd.read_parquet(project / SCORED).sort_values(KEY, ignore_index=True)
    rejected = pd.read_parquet(project / REJECTED).sort_values(KEY, ignore_index=True)
    report = json.loads((project / REPORT).read_text())
    return {"scored": scored, "rejected": rejected, "report": report}


def test_loading_the_model_leaves_the_import_path_as_it_was(trained_project):
    # MLflow puts the package copy saved with the model first on sys.path; Dask
    # workers started afterwards would import that copy, not the installed project.
    before = list(sys.path)
    model = RegisteredModelDataset(
        model_name=registered_model_name(trained_project)
    ).load()
    assert model.version == "1"
    assert sys.path == before


@pytest.fixture(scope="module")
def by_pandas(trained_project, cohort) -> dict:
    return _score(trained_project, cohort, None) | {"run": latest_mlflow_run()}


def test_scores_every_record_once_with_the_champion(by_pandas, messy_file):
    scored, rejected, report = (by_pandas[k] for k in ("scored", "rejected", "report"))
    records = len(messy_file.read_text().splitlines()) - 1
    assert report["rows_in"] == 4 * records + 3 == len(scored) + len(rejected)
    assert not pd.concat([scored[KEY], rejected[KEY]]).duplicated().any()
    assert report["rejected_by_reason"] == {"malformed_record": 2, "unknown_value": 1}
    assert report["model_version"] == "1" and report["engine"] == "pandas"
    assert report["files"] == 2 and report["rows_per_second"] > 0
    assert set(scored["model_version"]) == {"1"}
    assert {Path(p).name for p in scored["source_file"]} == {"a.csv", "b.parquet"}
    assert scored.filter(like="proba_").sum(axis=1).round(9).eq(1).all()
    # the champion's prediction sets, as the API gives them
    sets = scored["prediction_set"].str.split("|")
    assert all(p in s for p, s in zip(scored["prediction"], sets, strict=True))


def test_figures_go_to_mlflow(by_pandas):
    run = by_pandas["run"]
    metrics = run.data.metrics
    assert metrics["scoring.rows_in"] == by_pandas["report"]["rows_in"]
    assert metrics["scoring.rejected_malformed_record"] == 2


def test_env_dask_gives_the_pandas_answer(
    by_pandas, trained_project, cohort, monkeypatch
):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    by_dask = _score(trained_project, cohort, "dask")

    assert by_dask["report"]["engine"] == "dask"
    assert by_dask["report"]["workers"] == 2
    for key in ("rows_in", "scored", "rejected", "rejected_by_reason"):
        assert by_dask["report"][key] == by_pandas["report"][key], key
    pd.testing.assert_frame_equal(
        by_dask["scored"].drop(columns="scored_at"),
        by_pandas["scored"].drop(columns="scored_at"),
        check_exact=True,
    )
    pd.testing.assert_frame_equal(by_dask["rejected"], by_pandas["rejected"])
