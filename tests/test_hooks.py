"""Project hooks that need no Kedro run."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from kedro.io import DataCatalog
from omegaconf import OmegaConf

from student_performance.batch import RawBatchDataset
from student_performance.hooks import (
    BatchInputHook,
    MissingEnvironmentVariableError,
    MissingInputError,
    MlflowConfHook,
    _flatten,
)


def test_typed_parameters_flatten_to_dotted_keys_without_records_or_long_values():
    values = {
        "quality": {"max_missing_share": 0.02, "tolerant_headers": True},
        "dataset": {
            "target": {"name": "grade", "classes": ["low", "high"]},
            "features": [{"name": "sport"}],
            "notes": "x" * 7000,
        },
    }
    assert _flatten(values) == {
        "quality.max_missing_share": 0.02,
        "quality.tolerant_headers": True,
        "dataset.target.name": "grade",
        "dataset.target.classes": ["low", "high"],
    }


class _Loader(dict):
    """A conf loader whose entries resolve (and fail) when read, like Kedro's."""

    def __getitem__(self, key: str):
        return OmegaConf.to_container(super().__getitem__(key), resolve=True)


def _context(env: str, uri: str) -> SimpleNamespace:
    """What ``MlflowConfHook`` reads of a ``KedroContext``: its env and conf."""
    server = {"server": {"mlflow_tracking_uri": uri}}
    return SimpleNamespace(
        env=env, config_loader=_Loader(mlflow=OmegaConf.create(server))
    )


def test_missing_tracking_uri_is_named_with_its_fix(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    context = _context("prod", "${oc.env:MLFLOW_TRACKING_URI}")
    with pytest.raises(MissingEnvironmentVariableError) as err:
        MlflowConfHook().after_context_created(context)
    message = err.value.format_message()
    assert message.startswith("MLFLOW_TRACKING_URI is not set: --env prod reads ")
    assert "server.mlflow_tracking_uri" in message
    assert "make mlflow-server" in message
    assert "export MLFLOW_TRACKING_URI=" in message
    assert "\n" not in message


def test_conf_that_resolves_or_fails_otherwise_is_left_to_kedro_mlflow(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    hook = MlflowConfHook()
    assert (
        hook.after_context_created(_context("prod", "${oc.env:MLFLOW_TRACKING_URI}"))
        is None
    )
    # a resolver kedro-mlflow registers itself, later: not this hook's business
    assert hook.after_context_created(_context("base", "${km.random_name:}")) is None


def test_a_missing_batch_input_stops_the_run_in_one_line(tmp_path):
    present = tmp_path / "records.csv"
    present.write_text("a\n1\n")
    catalog = DataCatalog(
        {
            "raw_batch": RawBatchDataset(path=str(tmp_path / "nowhere.csv")),
            "other": RawBatchDataset(path=str(present)),
        }
    )
    pipeline = SimpleNamespace(inputs=lambda: {"raw_batch", "other", "params:x"})
    with pytest.raises(MissingInputError, match=r"raw_batch: .*nowhere\.csv"):
        BatchInputHook().before_pipeline_run({}, pipeline, catalog)

    fine = SimpleNamespace(inputs=lambda: {"other"})
    BatchInputHook().before_pipeline_run({}, fine, catalog)
