"""The data_processing pipeline: its contract, and a run on an in-memory catalog."""

from __future__ import annotations

import pandas as pd
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from student_performance.pipelines.data_processing import create_pipeline


def test_contract():
    pipeline = create_pipeline()
    assert pipeline.inputs() == {
        "raw_students",
        "params:dataset",
        "params:data_processing.quality",
    }
    boundary = {name for name in pipeline.all_outputs() if "." not in name}
    assert boundary == {
        "prm_students",
        "int_quarantined_rows",
        "rpt_data_quality",
        "rpt_data_quality_metrics",
    }
    assert pipeline.outputs() == {"rpt_data_quality", "rpt_data_quality_metrics"}


def _catalog(tiny_raw, tiny_schema) -> DataCatalog:
    return DataCatalog(
        {
            "raw_students": MemoryDataset(tiny_raw),
            "params:dataset": MemoryDataset(tiny_schema),
            "params:data_processing.quality": MemoryDataset(
                {"max_missing_share": 1.0, "max_invalid_share": 1.0}
            ),
        }
    )


def test_sliced_run_to_the_tables(tiny_raw, tiny_schema):
    pipeline = create_pipeline().to_outputs("prm_students", "int_quarantined_rows")
    outputs = SequentialRunner().run(pipeline, _catalog(tiny_raw, tiny_schema))
    kept = outputs["prm_students"].load()
    quarantine = outputs["int_quarantined_rows"].load()
    assert list(kept.columns) == ["grade", "sport", "level", "hours"]
    assert isinstance(kept["grade"].dtype, pd.CategoricalDtype)
    assert set(quarantine["reason"]) == {
        "target_missing",
        "target_invalid",
        "duplicate",
    }
    assert len(kept) + len(quarantine) == len(tiny_raw)


def test_full_run_reports(tiny_raw, tiny_schema):
    outputs = SequentialRunner().run(create_pipeline(), _catalog(tiny_raw, tiny_schema))
    report = outputs["rpt_data_quality"].load()
    metrics = outputs["rpt_data_quality_metrics"].load()
    assert (
        report["rows_in"]
        == len(tiny_raw)
        == report["rows_kept"] + report["rows_quarantined"]
    )
    assert metrics["rows_kept"] == {"value": float(report["rows_kept"]), "step": 0}
