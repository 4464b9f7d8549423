"""The data_processing pipeline: its contract, and a run on an in-memory catalog."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from student_performance.datasets import RawDataError, RawSource
from student_performance.pipelines.data_processing import create_pipeline
from student_performance.pipelines.data_processing.params import QualityParams


def test_contract():
    pipeline = create_pipeline()
    assert pipeline.inputs() == {
        "raw_students",
        "raw_students_source",
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
    # the report is read back by check_usable_rows, the run's last node
    assert pipeline.outputs() == {"rpt_data_quality_metrics"}


class _Kept(MemoryDataset):
    """A MemoryDataset the runner does not release, to read back after a run."""

    def _release(self) -> None:
        pass


def _catalog(tiny_raw, tiny_schema) -> DataCatalog:
    rows = tiny_raw.set_axis(pd.RangeIndex(2, 8, name="source_line"))
    return DataCatalog(
        {
            "raw_students": MemoryDataset(rows),
            "raw_students_source": MemoryDataset(RawSource("x.csv", "utf-8", 6)),
            "params:dataset": MemoryDataset(tiny_schema),
            "params:data_processing.quality": MemoryDataset(
                QualityParams(max_missing_share=1.0, max_invalid_share=1.0)
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
    catalog = _catalog(tiny_raw, tiny_schema)
    catalog["rpt_data_quality"] = _Kept()
    outputs = SequentialRunner().run(create_pipeline(), catalog)
    report = catalog.load("rpt_data_quality")
    metrics = outputs["rpt_data_quality_metrics"].load()
    assert (
        report["rows_in"]
        == len(tiny_raw)
        == report["rows_kept"] + report["rows_quarantined"]
    )
    assert metrics["rows_kept"] == {"value": float(report["rows_kept"]), "step": 0}


def test_run_without_usable_rows_fails_after_saving_quarantine_and_report(
    tiny_raw, tiny_schema
):
    catalog = _catalog(tiny_raw.assign(grade=""), tiny_schema)
    for name in ("int_quarantined_rows", "rpt_data_quality"):
        catalog[name] = _Kept()
    with pytest.raises(RawDataError, match=r"x.csv: no usable row: 6 rows in"):
        SequentialRunner().run(create_pipeline(), catalog)
    assert set(catalog.load("int_quarantined_rows")["reason"]) == {"target_missing"}
    assert catalog.load("rpt_data_quality")["rows_kept"] == 0
