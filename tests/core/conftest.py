"""Fixtures of the core tests: the real cleaned table (628 rows)."""

from __future__ import annotations

import pandas as pd
import pytest

from student_performance.datasets import RawCSVDataset
from student_performance.pipelines.data_processing.nodes import (
    check_raw_structure,
    normalise_values,
    quarantine_rows,
)

LOOSE_QUALITY = {"max_missing_share": 1.0, "max_invalid_share": 1.0}


@pytest.fixture(scope="session")
def real_primary(messy_file, dataset_schema) -> pd.DataFrame:
    """The messy file cleaned by the data_processing nodes."""
    raw = RawCSVDataset(filepath=str(messy_file)).load()
    typed = normalise_values(
        check_raw_structure(raw, dataset_schema), dataset_schema, LOOSE_QUALITY
    )
    kept, _ = quarantine_rows(typed, raw, dataset_schema)
    return kept
