"""The registry dataset names what is missing (the session's temporary MLflow store)."""

from __future__ import annotations

import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, DatasetError

from student_performance.scoring.registered import RegisteredModelDataset
from student_performance.settings import CONFIG_LOADER_ARGS
from tests.conftest import PROJECT_ROOT


@pytest.mark.parametrize(
    ("selection", "missing"),
    [
        ({}, "no champion"),
        ({"alias": "challenger"}, "no challenger"),
        ({"model_version": 99, "alias": "champion"}, "no version 99"),
    ],
)
def test_a_model_not_in_the_registry_is_named(selection, missing):
    dataset = RegisteredModelDataset(model_name="never-registered", **selection)
    with pytest.raises(DatasetError, match=f"'never-registered' has {missing}"):
        dataset.load()


@pytest.mark.parametrize(
    ("runtime", "described"),
    [
        ({}, {"alias": "champion", "version": None}),
        ({"batch_scoring": {"version": 3}}, {"alias": None, "version": "3"}),
        ({"batch_scoring": {"alias": "challenger"}}, {"alias": "challenger"}),
    ],
)
def test_the_catalog_entry_passes_the_version_through(runtime, described):
    """`--params batch_scoring.version=3` must reach the dataset: Kedro drops a
    dataset's `version:` key (its own versioning), so the entry says `model_version`."""
    loader = OmegaConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"),
        env="local",
        runtime_params=runtime,
        **CONFIG_LOADER_ARGS,
    )
    catalog = DataCatalog.from_config(loader["catalog"])
    shown = catalog.get("model_for_scoring")._describe()
    assert shown.items() >= described.items()
