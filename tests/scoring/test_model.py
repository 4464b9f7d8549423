"""The registry dataset names what is missing (the session's temporary MLflow store)."""

from __future__ import annotations

import pytest
from kedro.io import DatasetError

from student_performance.scoring.model import RegisteredModelDataset


@pytest.mark.parametrize(
    ("selection", "missing"),
    [
        ({}, "no champion"),
        ({"alias": "challenger"}, "no challenger"),
        ({"version": 99, "alias": "champion"}, "no version 99"),
    ],
)
def test_a_model_not_in_the_registry_is_named(selection, missing):
    dataset = RegisteredModelDataset(model_name="never-registered", **selection)
    with pytest.raises(DatasetError, match=f"'never-registered' has {missing}"):
        dataset.load()
