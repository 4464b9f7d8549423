"""Typed modelling settings: every conf environment validates, typos fail early."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader
from pydantic import ValidationError

from student_performance import settings as project_settings
from student_performance.core.params import (
    CandidatesParams,
    CVParams,
    DecisionParams,
    ExplainParams,
    SelectionParams,
    SplitParams,
)

GROUPS = {
    "split": SplitParams,
    "cv": CVParams,
    "candidates": CandidatesParams,
    "selection": SelectionParams,
    "explain": ExplainParams,
    "decision": DecisionParams,
}


PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("env", ["base", "test", "prod"])
def test_every_conf_environment_validates(env):
    loader = OmegaConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"),
        env=env,
        **project_settings.CONFIG_LOADER_ARGS,
    )
    modelling = loader["parameters"]["modelling"]
    for group, model in GROUPS.items():
        model.model_validate(modelling[group])


@pytest.mark.parametrize(
    ("model", "value"),
    [
        (CVParams, {"n_splits": 1}),
        (CVParams, {"n_split": 5}),
        (SplitParams, {"holdout_share": 1.5}),
        (SelectionParams, {"primary_metric": "auc"}),
        (ExplainParams, {"scoring": "auc"}),
        (DecisionParams, {"rule": "mode"}),
        (DecisionParams, {"cost": "cubic"}),
        (CandidatesParams, {"x": {"estimator": "svm"}}),
        (CandidatesParams, {"x": {"estimator": "majority", "enabled": False}}),
        (CandidatesParams, {"x": {"estimator": "majority", "ordinal_as": "bits"}}),
    ],
)
def test_a_wrong_value_or_a_typo_is_refused(model, value):
    with pytest.raises(ValidationError):
        model.model_validate(value)


def test_a_validated_model_passes_through_unchanged():
    cv = CVParams(n_splits=3, n_repeats=1, seed=1, n_jobs=1)
    assert CVParams.model_validate(cv) is cv
    assert CandidatesParams.model_validate(
        {"b": {"estimator": "majority"}}
    ).as_dict() == {
        "b": {
            "estimator": "majority",
            "ordinal_as": "codes",
            "grid": None,
            "enabled": True,
        }
    }
