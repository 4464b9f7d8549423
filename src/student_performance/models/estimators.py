"""Estimators scikit-learn does not ship.

``OrdinalRidgeClassifier`` is written here because no maintained library offers it:
``mord`` (ordinal regression) has had no release since 2017 and pins old scikit-learn,
and statsmodels' ``OrderedModel`` has no regularisation. It is small: a ridge
regression on the class index, cut at thresholds, with probabilities from a cumulative
logistic link on the same score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import Ridge
from sklearn.utils.validation import check_is_fitted


def class_share_thresholds(score: np.ndarray, index: np.ndarray, n_classes: int):
    """Cut points on ``score`` that reproduce the class shares of ``index``.

    The quantiles of the score at the cumulative class shares: cutting there predicts
    each class as often as it occurs in training (``np.searchsorted`` applies them).
    """
    shares = np.bincount(index, minlength=n_classes).cumsum()[:-1] / len(index)
    return np.quantile(score, shares)


class OrdinalRidgeClassifier(ClassifierMixin, BaseEstimator):
    """Ridge regression on the class index, cut where the training class shares are.

    Uses the order of the target: predicting "Good" for an "Excellent" student costs
    less than predicting "Average". Thresholds are the training score's quantiles at
    the cumulative class shares, so the predicted class mix matches the training mix.
    Probabilities: ``P(y <= k) = sigmoid((t_k - score) / scale)`` with ``scale`` fitted
    by maximum likelihood on the training fold.

    Args:
        alpha: Ridge penalty.
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def fit(self, X, y) -> OrdinalRidgeClassifier:  # noqa: N803 - scikit-learn's names
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        index = np.searchsorted(self.classes_, y)
        self.regressor_ = clone(Ridge(alpha=self.alpha)).fit(X, index)
        score = self.regressor_.predict(X)
        self.thresholds_ = class_share_thresholds(score, index, len(self.classes_))
        self.scale_ = self._fit_scale(score, index)
        return self

    def _fit_scale(self, score: np.ndarray, index: np.ndarray) -> float:
        rows = np.arange(len(index))

        def neg_log_likelihood(log_scale: float) -> float:
            proba = self._proba(score, np.exp(log_scale))
            return -np.log(np.clip(proba[rows, index], 1e-12, 1)).sum()

        best = minimize_scalar(neg_log_likelihood, bounds=(-6, 3), method="bounded")
        return float(np.exp(best.x))

    def _proba(self, score: np.ndarray, scale: float) -> np.ndarray:
        cumulative = expit((self.thresholds_[None, :] - score[:, None]) / scale)
        ones = np.ones((len(score), 1))
        edges = np.hstack([0 * ones, cumulative, ones])
        return np.clip(np.diff(edges, axis=1), 0, 1)

    def decision_function(self, X) -> np.ndarray:  # noqa: N803
        check_is_fitted(self)
        return self.regressor_.predict(X)

    def predict(self, X) -> np.ndarray:  # noqa: N803
        index = np.searchsorted(self.thresholds_, self.decision_function(X))
        return self.classes_[index]

    def predict_proba(self, X) -> np.ndarray:  # noqa: N803
        return self._proba(self.decision_function(X), self.scale_)


class OrderedClassifier(ClassifierMixin, BaseEstimator):
    """Fit any classifier on class indices in the target's order; answer in class names.

    scikit-learn sorts string labels alphabetically (``Average, Excellent, Good, Vg``);
    this wrapper keeps the schema's order, so ``predict_proba`` columns, ``classes_``
    and ordinal estimators all follow it, and a class missing from a training fold
    still gets its (zero) probability column.

    Args:
        estimator: An unfitted classifier (e.g. a preprocessing + model ``Pipeline``).
        classes: The class names, lowest first.
    """

    def __init__(self, estimator: BaseEstimator, classes: Sequence[str]) -> None:
        self.estimator = estimator
        self.classes = classes

    def fit(self, X: pd.DataFrame, y) -> OrderedClassifier:  # noqa: N803
        self.classes_ = np.asarray(list(self.classes), dtype=object)
        index = self.to_index(y)
        if (index < 0).any():
            raise ValueError(f"labels outside the classes {list(self.classes_)}")
        self.estimator_ = clone(self.estimator).fit(X, index)
        # the training class mix, which monitoring compares the served mix against
        self.class_shares_ = np.bincount(index, minlength=len(self.classes_)) / len(
            index
        )
        return self

    def to_index(self, y) -> np.ndarray:
        """Class names to indices (-1 for a name not among the classes)."""
        lookup = {name: i for i, name in enumerate(self.classes_)}
        return np.array([lookup.get(v, -1) for v in np.asarray(y, dtype=object)])

    def predict_index(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        check_is_fitted(self)
        return np.asarray(self.estimator_.predict(X), dtype=int)

    def predict(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        return self.classes_[self.predict_index(X)]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        check_is_fitted(self)
        seen = np.asarray(self.estimator_.classes_, dtype=int)
        proba = np.zeros((len(X), len(self.classes_)))
        proba[:, seen] = self.estimator_.predict_proba(X)
        return proba
