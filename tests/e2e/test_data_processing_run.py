"""End-to-end: ``kedro run --pipelines data_processing`` in a KedroSession."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from tests.conftest import PROJECT_ROOT, latest_mlflow_run, run_kedro

pytestmark = pytest.mark.slow


def test_messy_file_end_to_end(project_copy, messy_file, dataset_schema):
    shutil.copy(messy_file, project_copy / "data/01_raw" / messy_file.name)
    run_kedro(project_copy, ["data_processing"])

    report = json.loads(
        (project_copy / "data/08_reporting/data_quality_report.json").read_text()
    )
    kept = pd.read_parquet(project_copy / "data/03_primary/prm_students.parquet")
    quarantine = pd.read_csv(
        project_copy / "data/02_intermediate/int_quarantined_rows.csv",
        index_col="source_line",
    )
    # Every row accounted for, exactly once.
    assert report["rows_in"] == 679
    assert len(kept) + len(quarantine) == 679
    assert kept.index.intersection(quarantine.index).empty
    assert sorted(kept.index.union(quarantine.index)) == list(range(2, 681))
    assert (report["rows_kept"], report["rows_quarantined"]) == (628, 51)
    assert report["quarantined_by_reason"] == {"duplicate": 45, "target_missing": 6}
    assert report["columns_dropped"] == ["mixed_type_col"]
    # Every kept value is in its allowed set, in schema order.
    target = dataset_schema.target
    assert kept[target.name].notna().all()
    assert list(kept[target.name].cat.categories) == list(target.classes)
    assert kept[target.name].cat.ordered
    for feature in dataset_schema.features:
        values = set(kept[feature.name].dropna())
        assert values <= set(feature.values), feature.name
        assert list(kept[feature.name].cat.categories) == list(feature.values)
    # The MLflow run holds the figures and the report.
    run = latest_mlflow_run()
    assert run.info.status == "FINISHED"
    assert run.data.metrics["data_quality.rows_in"] == 679
    assert run.data.metrics["data_quality.rows_kept"] == 628
    assert run.data.metrics["data_quality.quarantined_duplicate"] == 45
    # typed parameters are logged field by field, as dict parameters are
    assert run.data.params["data_processing.quality.max_malformed_share"] == "0.1"
    assert run.data.params["data_processing.quality.tolerant_headers"] == "True"
    artifacts = {a.path for a in mlflow_artifacts(run.info.run_id)}
    assert "data_quality_report.json" in artifacts


def mlflow_artifacts(run_id: str):
    import mlflow  # noqa: PLC0415

    return mlflow.MlflowClient().list_artifacts(run_id)


def test_new_dataset_is_a_new_conf_environment(project_copy):
    """An invented dataset with a numeric feature runs with conf alone (no code)."""
    fixture = PROJECT_ROOT / "tests/fixtures/conf_numeric"
    shutil.copytree(
        fixture, project_copy / "conf/numeric", ignore=shutil.ignore_patterns("*.csv")
    )
    shutil.copy(
        fixture / "tiny_numeric.csv", project_copy / "data/01_raw/tiny_numeric.csv"
    )
    run_kedro(project_copy, ["data_processing"], env="numeric")

    report = json.loads(
        (project_copy / "data/08_reporting/data_quality_report.json").read_text()
    )
    kept = pd.read_parquet(project_copy / "data/03_primary/prm_students.parquet")
    assert report["dataset"] == "tiny_numeric"
    assert report["quarantined_by_reason"] == {
        "target_missing": 1,
        "target_invalid": 1,
        "duplicate": 1,
    }
    assert report["columns"]["hours_studied"]["invalid_values"] == {
        "abc": 1,
        "-1": 1,
        "25": 1,
    }
    assert report["columns"]["hours_studied"]["numeric_coercion_failures"] == 1
    assert str(kept["hours_studied"].dtype) == "Float64"
    assert kept["hours_studied"].max() <= 24
    assert list(kept["level"].cat.categories) == ["A1", "A2", "B1", "B2"]
    assert len(kept) == 12 - 3
