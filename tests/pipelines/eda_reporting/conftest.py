"""Inputs of the eda_reporting nodes, on the tiny invented schema of tests/conftest.py."""

from __future__ import annotations

import pandas as pd
import pytest

from student_performance.datasets import RawSource
from student_performance.pipelines.data_processing.nodes import (
    build_quality_report,
    check_raw_structure,
    normalise_values,
    quarantine_rows,
)
from student_performance.pipelines.data_processing.params import QualityParams
from student_performance.pipelines.eda_reporting.params import (
    AssociationParams,
    FindingsParams,
)


@pytest.fixture
def tiny_clean() -> pd.DataFrame:
    """Typed rows as data_processing keeps them: ``level`` follows ``grade`` exactly,
    ``sport`` is unrelated to it, ``hours`` grows with it; one value of each missing."""
    return pd.DataFrame(
        {
            "grade": pd.Categorical(
                ["low", "mid", "high", "mid", "low", "high"],
                categories=["low", "mid", "high"],
                ordered=True,
            ),
            "sport": pd.Categorical(
                ["yes", "no", "yes", None, "no", "no"], categories=["yes", "no"]
            ),
            "level": pd.Categorical(
                ["A1", "A2", "B1", "A2", "A1", "B1"],
                categories=["A1", "A2", "B1"],
                ordered=True,
            ),
            "hours": pd.array([1.0, 4.0, 9.0, 5.0, None, 8.0], dtype="Float64"),
        },
        index=pd.Index(range(2, 8), name="source_line"),
    )


@pytest.fixture
def tiny_processed(tiny_raw, tiny_schema) -> dict:
    """What data_processing hands over for ``tiny_raw``: raw, kept rows, quality report."""
    quality = QualityParams(max_missing_share=1.0, max_invalid_share=1.0)
    raw = tiny_raw.set_axis(pd.RangeIndex(2, 8, name="source_line"))
    source = RawSource("tiny.csv", "utf-8", len(raw))
    checked = check_raw_structure(raw, source, tiny_schema, quality)
    typed = normalise_values(checked, tiny_schema, quality)
    kept, quarantine = quarantine_rows(checked, typed, raw, source, tiny_schema)
    report, _ = build_quality_report(
        raw, source, typed, kept, quarantine, tiny_schema, quality
    )
    return {"raw": raw, "kept": kept, "report": report}


@pytest.fixture
def association() -> AssociationParams:
    return AssociationParams(numeric_bins=2, rank_by="cramers_v")


@pytest.fixture
def thresholds() -> FindingsParams:
    return FindingsParams(
        top_associations=2,
        weak_association=0.1,
        high_missing_share=0.1,
        rare_value_share=0.2,
        imbalance_ratio=1.5,
    )
