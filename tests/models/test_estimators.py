"""models.estimators: the class order is the schema's; the ordinal ridge is monotone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from student_performance.models.estimators import (
    OrderedClassifier,
    OrdinalRidgeClassifier,
    _cumulative_proba,
    _cumulative_row,
)


def test_ordered_classifier_keeps_class_order_and_missing_classes():
    X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    model = OrderedClassifier(LogisticRegression(), ["c", "b", "a"])
    model.fit(X, ["c", "c", "b", "b"])  # class "a" absent from this training fold
    proba = model.predict_proba(X)
    assert list(model.classes_) == ["c", "b", "a"]
    assert proba.shape == (4, 3) and np.allclose(proba[:, 2], 0)
    assert set(model.predict(X)) <= {"c", "b"}
    # the training class mix, in class order (monitoring compares served traffic to it)
    assert model.class_shares_.tolist() == [0.5, 0.5, 0.0]
    with pytest.raises(ValueError, match="labels outside the classes"):
        model.fit(X, ["c", "c", "b", "zzz"])


def test_ordinal_ridge_thresholds_and_probabilities():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    y = np.digitize(X[:, 0] + 0.3 * rng.normal(size=300), [-0.5, 0.5])
    model = OrdinalRidgeClassifier(alpha=1.0).fit(X, y)
    proba = model.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1)
    # class shares of the predictions reproduce the training shares
    assert np.abs(np.bincount(model.predict(X)) - np.bincount(y)).max() <= 3
    # monotone in the score: a larger first feature never lowers the predicted class
    grid = np.column_stack([np.linspace(-3, 3, 50), np.zeros(50)])
    assert np.all(np.diff(model.predict(grid)) >= 0)


def test_cumulative_probabilities_are_the_differences_of_the_stacked_edges():
    """The served rows' arithmetic: bit for bit what stacking ``0, P(y <= k), 1`` and
    ``np.diff`` give (the formula models were registered with)."""
    rng = np.random.default_rng(3)
    for n_cuts in (1, 3, 5):
        score = rng.normal(0, 3, 2_000)
        cuts, scale = np.sort(rng.normal(0, 2, n_cuts)), rng.uniform(0.05, 3)
        cumulative = expit((cuts[None, :] - score[:, None]) / scale)
        ones = np.ones((len(score), 1))
        stacked = np.hstack([0 * ones, cumulative, ones])
        expected = np.clip(np.diff(stacked, axis=1), 0, 1)
        np.testing.assert_array_equal(_cumulative_proba(score, cuts, scale), expected)
        assert _cumulative_proba(score[:1], cuts, scale).shape == (1, n_cuts + 1)


def test_unfitted_models_say_so():
    X = np.zeros((2, 1))
    with pytest.raises(NotFittedError):
        OrdinalRidgeClassifier().predict_proba(X)
    with pytest.raises(NotFittedError):
        OrderedClassifier(LogisticRegression(), ["a", "b"]).predict_proba(X)


def test_one_row_in_plain_python_gives_the_same_probabilities():
    """``predict_proba_one`` (what a served record uses) equals ``predict_proba`` to
    the last bit, scores far in the tails included (exp overflows there)."""
    rng = np.random.default_rng(4)
    scores = np.concatenate([rng.normal(0, 3, 20_000), [-1e4, -800.0, 800.0, 1e4]])
    for n_cuts in (1, 3):
        cuts, scale = np.sort(rng.normal(0, 2, n_cuts)), rng.uniform(0.05, 3)
        expected = _cumulative_proba(scores, cuts, scale)
        rows = [_cumulative_row(s, cuts.tolist(), scale) for s in scores.tolist()]
        np.testing.assert_array_equal(np.array(rows), expected)
    X = rng.normal(size=(200, 3))
    y = np.digitize(X[:, 0], [-0.5, 0.5])
    model = OrdinalRidgeClassifier(link="out_of_fold").fit(X, y)
    for row in X[:50]:
        np.testing.assert_array_equal(
            np.array([model.predict_proba_one(row[None, :])]),
            model.predict_proba(row[None, :]),
        )
