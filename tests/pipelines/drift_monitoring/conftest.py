"""Fixtures of the drift_monitoring tests (the shared tables, the fitted model and the
tiny typed frames are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from student_performance.drift.settings import DriftThresholds


@pytest.fixture
def thresholds() -> DriftThresholds:
    """Default thresholds with a small minimum batch, for tiny frames."""
    return DriftThresholds(min_rows=5, monte_carlo_samples=499)
