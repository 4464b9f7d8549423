"""Fixtures of the drift library tests."""

from __future__ import annotations

import pytest

from tests.drift.ordered_model import ordered_model


@pytest.fixture(scope="session")
def fitted_model(primary_table, dataset_schema):
    """The champion's interface: drift predicts through ``core.inference``."""
    return ordered_model(primary_table, dataset_schema)
