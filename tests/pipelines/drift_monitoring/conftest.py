"""Fixtures of the drift_monitoring tests: the real cleaned table, a real fitted model,
tiny typed frames on the invented ``tiny_schema``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

from student_performance.datasets import RawCSVDataset
from student_performance.drift.settings import DriftThresholds
from student_performance.pipelines.data_processing.nodes import (
    QualityParams,
    check_raw_structure,
    normalise_values,
    quarantine_rows,
)

LOOSE_QUALITY = QualityParams(max_missing_share=1.0, max_invalid_share=1.0)


@pytest.fixture(scope="session")
def primary_table(messy_file, dataset_schema) -> pd.DataFrame:
    """The messy file cleaned by the data_processing nodes: 628 typed rows."""
    raw, source = RawCSVDataset(filepath=str(messy_file)).read()
    checked = check_raw_structure(raw, source, dataset_schema, LOOSE_QUALITY)
    typed = normalise_values(checked, dataset_schema, LOOSE_QUALITY)
    kept, _ = quarantine_rows(checked, typed, raw, source, dataset_schema)
    return kept


@pytest.fixture(scope="session")
def fitted_model(primary_table, dataset_schema):
    """A small real classifier with the champion's interface (predict on features)."""
    model = make_pipeline(
        OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=-1,
            encoded_missing_value=-1,
        ),
        LogisticRegression(max_iter=1000),
    )
    features = primary_table[dataset_schema.feature_names]
    return model.fit(features, primary_table[dataset_schema.target.name].astype(str))


@pytest.fixture
def thresholds() -> DriftThresholds:
    """Default thresholds with a small minimum batch, for tiny frames."""
    return DriftThresholds(min_rows=5, monte_carlo_samples=499)


def tiny_typed(tiny_schema, n_rows: int, seed: int, hours_shift: float = 0.0):
    """``n_rows`` typed rows of the invented schema (nominal, ordinal, numeric)."""
    rng = np.random.default_rng(seed)

    def _cat(values: tuple[str, ...], p: list[float], ordered: bool) -> pd.Categorical:
        return pd.Categorical(
            rng.choice(values, size=n_rows, p=p), categories=values, ordered=ordered
        )

    return pd.DataFrame(
        {
            "grade": _cat(tiny_schema.target.classes, [0.3, 0.4, 0.3], True),
            "sport": _cat(("yes", "no"), [0.5, 0.5], False),
            "level": _cat(("A1", "A2", "B1"), [0.3, 0.4, 0.3], True),
            "hours": pd.array(
                np.clip(rng.normal(8 + hours_shift, 2, n_rows), 0, 24).round(1),
                dtype="Float64",
            ),
        }
    )


def as_raw(typed: pd.DataFrame) -> pd.DataFrame:
    """Typed rows back to raw text, as a file would hold them."""
    return typed.astype("string").fillna("")
