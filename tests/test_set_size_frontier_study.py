"""studies/set_size_frontier.py: the soft vote it measures averages its members'
probabilities, and its figures are the shipped sets' on the folds it is given."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from sklearn.base import clone

from student_performance.core.conformal import evaluate_prediction_sets
from student_performance.core.selection import features_and_target

from .conftest import PROJECT_ROOT, load_study


@pytest.fixture(scope="module")
def study():
    return load_study("set_size_frontier")


@pytest.fixture(scope="module")
def first(study):
    """Each candidate's first configuration, as the study takes them from conf."""
    conf = PROJECT_ROOT / "conf/base/parameters_modelling.yml"
    return study.first_configurations(yaml.safe_load(conf.read_text())["modelling"])


def test_the_vote_is_the_mean_of_its_members(
    study, first, primary_table, dataset_schema
):
    X, y = features_and_target(primary_table, dataset_schema)  # noqa: N806
    names = ("ordinal_ridge", "logistic_regression")
    vote = clone(study.mean_of(names, first, dataset_schema, 42)).fit(X, y)
    members = [
        clone(study.mean_of((name,), first, dataset_schema, 42)).fit(X, y)
        for name in names
    ]
    expected = np.mean([m.predict_proba(X) for m in members], axis=0)
    np.testing.assert_allclose(vote.predict_proba(X), expected)
    assert vote.decision_rule.startswith("the class is the most probable class")


@pytest.mark.slow  # a repeated CV with inner folds: seconds
def test_the_served_models_row_is_the_pipelines_figures(
    study, first, primary_table, dataset_schema
):
    X, y = features_and_target(primary_table, dataset_schema)  # noqa: N806
    ridge = first["ordinal_ridge"]
    cv = {"n_splits": 5, "n_repeats": 1, "seed": 7}
    row = study.measure(
        study.mean_of(("ordinal_ridge",), first, dataset_schema, 7), X, y, cv, 0.9, 1
    )
    shipped = evaluate_prediction_sets(
        primary_table,
        dataset_schema,
        ridge,
        cv | {"n_jobs": 1},
        {"level": 0.9, "mode": "marginal", "contiguous": True, "inner_splits": 5},
    )
    assert row["argmax"]["coverage"] == pytest.approx(shipped["covered"].mean())
    assert row["argmax"]["size"] == pytest.approx(shipped["set_size"].mean())
    assert 0.3 < row["argmax"]["qwk"] < 0.9
    assert 0.9 < row["log_loss"] < 1.3
