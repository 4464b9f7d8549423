"""Candidates and CV settings of the modelling tests (the tiny primary table is in
tests/conftest.py)."""

from __future__ import annotations

import pytest


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
