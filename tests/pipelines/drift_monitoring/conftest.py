"""Fixtures of the drift_monitoring tests (the shared tables and the tiny typed frames
are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from student_performance.drift.settings import DriftTestsParams
from tests.drift.ordered_model import ordered_model


@pytest.fixture
def thresholds() -> DriftTestsParams:
    """Default thresholds with a small minimum batch, for tiny frames."""
    return DriftTestsParams(min_rows=5, monte_carlo_samples=499)


@pytest.fixture(scope="session")
def fitted_model(primary_table, dataset_schema):
    """The champion's interface: drift predicts through ``core.inference``."""
    return ordered_model(primary_table, dataset_schema)
