"""A tiny fitted model for the core tests (logistic regression on tiny_schema)."""

from __future__ import annotations

import pytest

from student_performance.core.selection import fit_configuration

CONFIGURATION = {"estimator": "logistic_regression", "ordinal_as": "codes"}


@pytest.fixture(scope="module")
def tiny_model(tiny_primary, tiny_schema):
    return fit_configuration(
        tiny_primary, {**CONFIGURATION, "params": {"C": 1.0}}, tiny_schema, seed=0
    )
