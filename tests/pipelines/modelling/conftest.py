"""A small synthetic primary table whose target depends on two features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from student_performance.core.cleaning import normalise_frame


@pytest.fixture(scope="module")
def tiny_primary(tiny_schema) -> pd.DataFrame:
    """120 rows of tiny_schema: grade rises with hours and level, plus noise."""
    rng = np.random.default_rng(0)
    n = 120
    hours = rng.uniform(0, 24, n)
    level = rng.integers(0, 3, n)
    score = hours / 8 + level + rng.normal(0, 0.7, n)
    grade = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))
    raw = pd.DataFrame(
        {
            "grade": np.array(["low", "mid", "high"])[grade],
            "sport": rng.choice(["yes", "no"], n),
            "level": np.array(["A1", "A2", "B1"])[level],
            "hours": hours.round(1).astype(str),
        },
        dtype="string",
    )
    raw.loc[::17, "sport"] = ""  # some missing values to impute
    typed = normalise_frame(raw, tiny_schema)
    typed.index = pd.RangeIndex(2, n + 2, name="source_line")
    return typed


@pytest.fixture(scope="module")
def candidates() -> dict:
    return {
        "baseline": {"estimator": "majority"},
        "logistic_regression": {
            "estimator": "logistic_regression",
            "grid": {"C": [0.1, 1.0]},
        },
        "ordinal_ridge": {
            "estimator": "ordinal_ridge",
            "ordinal_as": "onehot",
            "grid": {"alpha": [1.0], "link": ["out_of_fold"]},
        },
        "lightgbm": {
            "estimator": "lightgbm",
            "grid": {"n_estimators": [20], "num_leaves": [4], "min_child_samples": [5]},
        },
    }


@pytest.fixture(scope="module")
def cv() -> dict:
    return {"n_splits": 3, "n_repeats": 2, "seed": 42, "n_jobs": 1}
