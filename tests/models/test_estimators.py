"""models.estimators: the class order is the schema's; the ordinal ridge is monotone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from student_performance.models.estimators import (
    OrderedClassifier,
    OrdinalRidgeClassifier,
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
