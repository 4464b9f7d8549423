"""Probability metrics (Brier, top-label ECE), the decision rule, the calibrated link."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from student_performance.models.estimators import (
    OrderedClassifier,
    OrdinalRidgeClassifier,
    decide_index,
    fit_cumulative_logit,
    ordinal_cost_matrix,
)
from student_performance.models.metrics import (
    brier_score,
    expected_calibration_error,
    reliability_bins,
)


def test_brier_is_zero_when_certain_and_right_and_two_when_certain_and_wrong():
    proba = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert brier_score(np.array([0, 1]), proba) == 0
    assert brier_score(np.array([1, 0]), proba) == 2


def test_top_label_ece_by_hand():
    # two rows at confidence 0.65 (one right), two at 0.95 (both right)
    proba = np.array(
        [[0.65, 0.35], [0.35, 0.65], [0.95, 0.05], [0.05, 0.95]], dtype=float
    )
    truth = np.array([0, 0, 0, 1])
    conf, acc, counts = reliability_bins(truth, proba)
    assert counts[6] == 2 and counts[9] == 2 and counts.sum() == 4
    assert acc[6] == 0.5 and acc[9] == 1.0
    expected = 0.5 * abs(0.5 - 0.65) + 0.5 * abs(1.0 - 0.95)
    assert expected_calibration_error(truth, proba) == pytest.approx(expected)


def test_ece_of_perfectly_calibrated_draws_is_small():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.5, 1, 20_000)
    truth = (rng.uniform(size=p.size) > p).astype(int)  # class 0 with probability p
    proba = np.column_stack([p, 1 - p])
    assert expected_calibration_error(truth, proba) < 0.01


@pytest.mark.parametrize(
    ("rule", "cost", "expected"),
    [
        ("argmax", "absolute", [0, 3]),
        # absolute cost: the median class (cumulative 0.4, 0.6 -> class 1)
        ("least_expected_cost", "absolute", [1, 2]),
        ("least_expected_cost", "squared", [1, 2]),
    ],
)
def test_decision_rules(rule, cost, expected):
    proba = np.array([[0.4, 0.2, 0.1, 0.3], [0.3, 0.0, 0.3, 0.4]])
    assert decide_index(proba, rule, cost).tolist() == expected


def test_cost_matrix_shapes_and_errors():
    assert ordinal_cost_matrix(3, "squared")[0, 2] == 4
    with pytest.raises(ValueError, match="3x3"):
        ordinal_cost_matrix(3, [[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="cost must be"):
        ordinal_cost_matrix(3, "cubic")


def test_class_always_agrees_with_probabilities_under_argmax():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = np.array(["lo", "mid", "hi"])[
        np.digitize(X["a"] + rng.normal(0, 0.8, 200), [-0.5, 0.5])
    ]
    model = OrderedClassifier(
        LogisticRegression(), ["lo", "mid", "hi"], decision="argmax"
    ).fit(X, y)
    proba = model.predict_proba(X)
    assert (model.predict_index(X) == proba.argmax(axis=1)).all()
    assert "most probable" in model.decision_rule


def test_cumulative_logit_recovers_its_parameters():
    rng = np.random.default_rng(3)
    score = rng.normal(0, 2, 20_000)
    cuts, scale = np.array([-1.0, 0.5, 2.0]), 0.7
    latent = score + rng.logistic(0, scale, score.size)
    index = np.searchsorted(cuts, latent)
    fitted_cuts, fitted_scale = fit_cumulative_logit(score, index, 4)
    assert np.allclose(fitted_cuts, cuts, atol=0.1)
    assert fitted_scale == pytest.approx(scale, rel=0.1)


def test_out_of_fold_link_is_less_overconfident_than_the_in_sample_one():
    """Many noisy features: in-sample scores spread more than unseen ones."""
    rng = np.random.default_rng(4)
    n, p = 300, 60
    X = rng.normal(size=(n, p))
    y = np.digitize(X[:, 0] + rng.normal(0, 1.0, n), [-0.7, 0, 0.7])
    test = rng.normal(size=(3000, p))
    y_test = np.digitize(test[:, 0] + rng.normal(0, 1.0, 3000), [-0.7, 0, 0.7])
    losses = {}
    for link in ("in_sample", "out_of_fold"):
        model = OrdinalRidgeClassifier(alpha=1.0, link=link).fit(X, y)
        proba = model.predict_proba(test)
        assert np.allclose(proba.sum(axis=1), 1)
        losses[link] = -np.log(proba[np.arange(3000), y_test]).mean()
    assert losses["out_of_fold"] < losses["in_sample"]


def test_ordinal_ridge_refuses_an_unknown_link():
    with pytest.raises(ValueError, match="link"):
        OrdinalRidgeClassifier(link="magic").fit(np.eye(4), [0, 1, 0, 1])
