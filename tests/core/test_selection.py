"""core.selection: the repeated-CV engine and the scoring of one configuration."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from student_performance.core.selection import (
    configurations,
    cross_validate,
    higher_is_better,
    rank_configurations,
    score_configuration,
)

CANDIDATES = {
    "baseline": {"estimator": "majority"},
    "logistic_regression": {
        "estimator": "logistic_regression",
        "grid": {"C": [0.1, 1.0]},
    },
    "off": {"estimator": "majority", "enabled": False},
}
CV = {"n_splits": 3, "n_repeats": 1, "seed": 0, "n_jobs": 1}


@pytest.fixture(scope="module")
def folds(tiny_primary, tiny_schema) -> pd.DataFrame:
    return cross_validate(tiny_primary, tiny_schema, CANDIDATES, CV)


def test_configurations_expand_the_grid_and_skip_disabled_candidates():
    configs = configurations(CANDIDATES)

    assert [(c["candidate"], c["params"]) for c in configs] == [
        ("baseline", {}),
        ("logistic_regression", {"C": 0.1}),
        ("logistic_regression", {"C": 1.0}),
    ]
    assert {c["ordinal_as"] for c in configs} == {"codes"}


def test_cross_validate_scores_every_configuration_on_every_fold(folds):
    assert len(folds) == 3 * 3
    assert set(folds["fold"]) == {0, 1, 2} and set(folds["repeat"]) == {0}
    assert {"accuracy", "f1_macro", "log_loss"} <= set(folds.columns)


def test_rank_configurations_picks_the_best_per_candidate(folds):
    summary, selected = rank_configurations(folds, CANDIDATES, "accuracy")

    assert list(summary["candidate"]) == ["logistic_regression", "baseline"]
    assert selected["candidate"] == "logistic_regression"
    means = folds[folds["candidate"] == "logistic_regression"].groupby("params")
    best = means["accuracy"].mean().idxmax()
    assert selected["params"] == json.loads(best)
    assert selected["cv"]["accuracy"] == pytest.approx(means["accuracy"].mean().max())
    with pytest.raises(ValueError, match="not_a_metric"):
        rank_configurations(folds, CANDIDATES, "not_a_metric")


def test_log_loss_is_the_metric_where_lower_is_better():
    assert higher_is_better("accuracy") and higher_is_better("f1_macro")
    assert not higher_is_better("log_loss")


def test_score_configuration_equals_its_row_in_the_full_search(
    folds, tiny_primary, tiny_schema
):
    """The registry gate's re-scoring gives the figure the search gave (the same
    folds, seeded: the engine is reproducible)."""
    configuration = {
        "candidate": "logistic_regression",
        "estimator": "logistic_regression",
        "params": {"C": 1.0},
    }

    score = score_configuration(
        tiny_primary, tiny_schema, configuration, CV, "accuracy"
    )

    rows = folds[folds["params"] == json.dumps({"C": 1.0})]
    assert score == pytest.approx(rows["accuracy"].mean())


def test_fit_configuration_answers_in_the_schemas_classes(tiny_model, tiny_schema):
    assert list(tiny_model.classes_) == list(tiny_schema.target.classes)
