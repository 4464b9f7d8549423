"""Estimators scikit-learn does not ship.

``OrdinalRidgeClassifier`` is written here because no maintained library offers it:
``mord`` (ordinal regression) has had no release since 2017 and pins old scikit-learn,
and statsmodels' ``OrderedModel`` has no regularisation. It is small: a ridge
regression on the class index, cut at thresholds, with probabilities from a cumulative
logistic link on the same score.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge


def _check_fitted(estimator: BaseEstimator, attribute: str) -> None:
    """``NotFittedError`` unless ``fit`` set ``attribute``: scikit-learn's
    ``check_is_fitted`` scans every attribute, which costs more than a served row's
    arithmetic."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' "
            "with appropriate arguments before using this estimator."
        )


def class_share_thresholds(score: np.ndarray, index: np.ndarray, n_classes: int):
    """Cut points on ``score`` that reproduce the class shares of ``index``.

    The quantiles of the score at the cumulative class shares: cutting there predicts
    each class as often as it occurs in training (``np.searchsorted`` applies them).
    """
    shares = np.bincount(index, minlength=n_classes).cumsum()[:-1] / len(index)
    return np.quantile(score, shares)


class OrdinalRidgeClassifier(ClassifierMixin, BaseEstimator):
    """Ridge regression on the class index, with a cumulative-logit link on its score.

    Uses the order of the target: predicting "Good" for an "Excellent" student costs
    less than predicting "Average". ``predict`` cuts the score at the training score's
    quantiles at the cumulative class shares, so the predicted class mix matches the
    training mix (``OrderedClassifier`` may replace it with a decision rule on the
    probabilities).

    Probabilities: ``P(y <= k) = sigmoid((c_k - score) / scale)``.

    * ``link="out_of_fold"`` (calibrated): the cut points ``c_k`` and ``scale`` are a
      cumulative-logit (proportional-odds) model fitted by maximum likelihood on
      out-of-fold ridge scores of the training rows (``inner_splits``-fold, inside the
      training data), so they are fitted on scores as spread as those of unseen rows.
    * ``link="in_sample"``: the class-share cut points and a ``scale`` fitted on the
      in-sample score (over-confident: in-sample scores are more spread than unseen
      ones).

    Args:
        alpha: Ridge penalty.
        link: ``out_of_fold`` or ``in_sample``.
        inner_splits: Folds of the out-of-fold scores.
    """

    def __init__(
        self, alpha: float = 1.0, link: str = "in_sample", inner_splits: int = 5
    ) -> None:
        self.alpha = alpha
        self.link = link
        self.inner_splits = inner_splits

    def fit(self, X, y) -> OrdinalRidgeClassifier:  # noqa: N803 - scikit-learn's names
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        index = np.searchsorted(self.classes_, y)
        self.regressor_ = clone(Ridge(alpha=self.alpha)).fit(X, index)
        score = self.regressor_.predict(X)
        self.thresholds_ = class_share_thresholds(score, index, len(self.classes_))
        if self.link == "out_of_fold":
            oof = self._out_of_fold_score(X, index)
            self.link_cuts_, self.scale_ = fit_cumulative_logit(
                oof, index, len(self.classes_)
            )
        elif self.link == "in_sample":
            self.link_cuts_ = self.thresholds_
            self.scale_ = self._fit_scale(score, index)
        else:
            raise ValueError(
                f"link must be out_of_fold or in_sample, not {self.link!r}"
            )
        return self

    def _out_of_fold_score(self, X, index: np.ndarray) -> np.ndarray:  # noqa: N803
        from sklearn.model_selection import StratifiedKFold  # noqa: PLC0415

        smallest = np.bincount(index).min()
        splits = max(2, min(self.inner_splits, int(smallest)))
        folds = StratifiedKFold(splits, shuffle=True, random_state=0)
        X = np.asarray(X)  # noqa: N806
        oof = np.empty(len(index))
        for train, test in folds.split(np.zeros(len(index)), index):
            ridge = Ridge(alpha=self.alpha).fit(X[train], index[train])
            oof[test] = ridge.predict(X[test])
        return oof

    def _fit_scale(self, score: np.ndarray, index: np.ndarray) -> float:
        rows = np.arange(len(index))

        def neg_log_likelihood(log_scale: float) -> float:
            proba = _cumulative_proba(score, self.thresholds_, np.exp(log_scale))
            return -np.log(np.clip(proba[rows, index], 1e-12, 1)).sum()

        best = minimize_scalar(neg_log_likelihood, bounds=(-6, 3), method="bounded")
        return float(np.exp(best.x))

    def decision_function(self, X) -> np.ndarray:  # noqa: N803
        _check_fitted(self, "regressor_")
        # Ridge.predict's own arithmetic (X @ coef + intercept) without its input
        # validation, which costs more than the product on one served row.
        regressor = self.regressor_
        return np.asarray(X) @ regressor.coef_ + regressor.intercept_

    def predict(self, X) -> np.ndarray:  # noqa: N803
        index = np.searchsorted(self.thresholds_, self.decision_function(X))
        return self.classes_[index]

    def predict_proba_one(self, X) -> list[float]:  # noqa: N803
        """``predict_proba`` of a single row (1 x features), as a list: the same
        product for the score, then the link in plain Python (``_cumulative_row``),
        the same numbers without a dozen array operations on four values."""
        _check_fitted(self, "regressor_")
        score = float(self.decision_function(X)[0])
        cuts = getattr(self, "link_cuts_", self.thresholds_)
        return _cumulative_row(score, np.asarray(cuts).tolist(), float(self.scale_))

    def predict_proba(self, X) -> np.ndarray:  # noqa: N803
        _check_fitted(self, "regressor_")
        cuts = getattr(self, "link_cuts_", self.thresholds_)  # models pickled before
        return _cumulative_proba(self.decision_function(X), cuts, self.scale_)


def _cumulative_proba(score: np.ndarray, cuts: np.ndarray, scale: float) -> np.ndarray:
    """Class probabilities of ``P(y <= k) = sigmoid((cuts_k - score) / scale)``.

    The differences of ``0, P(y <= 1), ..., P(y <= K - 1), 1``, clipped to [0, 1],
    written into one array (the same operations on the same numbers as stacking the
    edges and ``np.diff``, with fewer temporaries: it runs on every served row).
    """
    cumulative = expit((np.asarray(cuts)[None, :] - score[:, None]) / scale)
    proba = np.empty((len(score), cumulative.shape[1] + 1))
    proba[:, 0] = cumulative[:, 0]
    np.subtract(cumulative[:, 1:], cumulative[:, :-1], out=proba[:, 1:-1])
    np.subtract(1.0, cumulative[:, -1], out=proba[:, -1])
    # np.clip(proba, 0, 1) without its Python-level dispatch
    return np.minimum(np.maximum(proba, 0, out=proba), 1, out=proba)


def _expit(x: float) -> float:
    """scipy's ``expit`` for one number: its formula ``1 / (1 + exp(-x))`` with the C
    library's ``exp``, as scipy computes it (tested bit for bit)."""
    try:
        return 1.0 / (1.0 + math.exp(-x))
    except OverflowError:  # exp(-x) is inf: scipy gives 1 / inf
        return 0.0


def _cumulative_row(score: float, cuts: list[float], scale: float) -> list[float]:
    """``_cumulative_proba`` of one score, in plain Python: the same operations on
    the same doubles, so the same probabilities."""
    cumulative = [_expit((cut - score) / scale) for cut in cuts]
    edges = [0.0, *cumulative, 1.0]
    return [
        min(max(high - low, 0.0), 1.0)
        for low, high in zip(edges[:-1], edges[1:], strict=True)
    ]


def fit_cumulative_logit(
    score: np.ndarray, index: np.ndarray, n_classes: int
) -> tuple[np.ndarray, float]:
    """Maximum-likelihood cut points and scale of a cumulative logit on one score.

    ``P(y <= k) = sigmoid((c_k - score) / scale)`` with ``c_1 < ... < c_{K-1}``
    (parametrised as a first cut plus positive gaps, so the order always holds).

    Args:
        score: One number per row (higher = higher class).
        index: True class indices.
        n_classes: Number of classes.

    Returns:
        The cut points and the scale.
    """
    from scipy.optimize import minimize  # noqa: PLC0415

    rows = np.arange(len(index))
    start_cuts = class_share_thresholds(score, index, n_classes)
    spread = float(np.std(score)) or 1.0
    gaps = np.log(np.maximum(np.diff(start_cuts), 1e-3 * spread))
    start = np.concatenate([[start_cuts[0]], gaps, [np.log(spread / 2)]])

    def unpack(theta: np.ndarray) -> tuple[np.ndarray, float]:
        cuts = theta[0] + np.concatenate([[0.0], np.cumsum(np.exp(theta[1:-1]))])
        return cuts, float(np.exp(theta[-1]))

    def neg_log_likelihood(theta: np.ndarray) -> float:
        cuts, scale = unpack(theta)
        proba = _cumulative_proba(score, cuts, scale)
        return -np.log(np.clip(proba[rows, index], 1e-12, 1)).sum()

    best = minimize(neg_log_likelihood, start, method="L-BFGS-B")
    return unpack(best.x)


DECISION_RULES = ("estimator", "argmax", "least_expected_cost")


def ordinal_cost_matrix(n_classes: int, cost: str | Sequence[Sequence[float]]):
    """The cost of predicting class ``j`` (column) when the truth is ``i`` (row).

    Args:
        n_classes: Number of classes.
        cost: ``absolute`` (|i - j|: one step off costs 1, two steps 2),
            ``squared`` ((i - j)^2, the weights of quadratic weighted kappa) or an
            explicit ``n_classes x n_classes`` matrix.

    Returns:
        The matrix as a float array.

    Raises:
        ValueError: An unknown name or a matrix of the wrong shape.
    """
    steps = np.abs(np.subtract.outer(np.arange(n_classes), np.arange(n_classes)))
    if isinstance(cost, str):
        if cost == "absolute":
            return steps.astype(float)
        if cost == "squared":
            return (steps**2).astype(float)
        raise ValueError(f"cost must be absolute, squared or a matrix, not {cost!r}")
    matrix = np.asarray(cost, dtype=float)
    if matrix.shape != (n_classes, n_classes):
        raise ValueError(f"cost matrix must be {n_classes}x{n_classes}")
    return matrix


def decide_index(
    proba: np.ndarray, rule: str, cost: str | Sequence[Sequence[float]] = "absolute"
) -> np.ndarray:
    """The class index the decision rule picks from each row of probabilities.

    ``argmax``: the most probable class. ``least_expected_cost``: the class ``j`` that
    minimises ``sum_i p_i * cost[i, j]`` (with the absolute cost, the median of the
    predicted distribution). Ties go to the lower class.
    """
    if rule == "argmax":
        return np.argmax(proba, axis=1)
    if rule == "least_expected_cost":
        expected = proba @ ordinal_cost_matrix(proba.shape[1], cost)
        return np.argmin(expected, axis=1)
    raise ValueError(
        f"decision rule must be argmax or least_expected_cost, not {rule!r}"
    )


def describe_decision(rule: str, cost: str | Sequence[Sequence[float]]) -> str:
    """One sentence naming the decision rule, for the API, the page and the card."""
    if rule == "argmax":
        return "the class is the most probable class (argmax of the probabilities)"
    if rule == "least_expected_cost":
        name = cost if isinstance(cost, str) else "the configured"
        return (
            "the class is the one of least expected cost under the "
            f"{name} ordinal cost of predicting one class for another"
            + (" (the median of the probabilities)" if cost == "absolute" else "")
        )
    return "the class is the estimator's own prediction"


class OrderedClassifier(ClassifierMixin, BaseEstimator):
    """Fit any classifier on class indices in the target's order; answer in class names.

    scikit-learn sorts string labels alphabetically (``Average, Excellent, Good, Vg``);
    this wrapper keeps the schema's order, so ``predict_proba`` columns, ``classes_``
    and ordinal estimators all follow it, and a class missing from a training fold
    still gets its (zero) probability column.

    The class follows from the probabilities by one stated ``decision`` rule
    (``argmax`` or ``least_expected_cost`` under ``cost``), so class and probabilities
    never disagree unexplained; ``estimator`` keeps the estimator's own ``predict``.

    Args:
        estimator: An unfitted classifier (e.g. a preprocessing + model ``Pipeline``).
        classes: The class names, lowest first.
        decision: ``estimator``, ``argmax`` or ``least_expected_cost``.
        cost: The ordinal cost of ``least_expected_cost`` (see ``ordinal_cost_matrix``).
    """

    def __init__(
        self,
        estimator: BaseEstimator,
        classes: Sequence[str],
        decision: str = "estimator",
        cost: str | Sequence[Sequence[float]] = "absolute",
    ) -> None:
        self.estimator = estimator
        self.classes = classes
        self.decision = decision
        self.cost = cost

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
        _check_fitted(self, "estimator_")
        rule = getattr(self, "decision", "estimator")  # models pickled before
        if rule == "estimator":
            return np.asarray(self.estimator_.predict(X), dtype=int)
        return decide_index(self.predict_proba(X), rule, self.cost)

    def index_from_proba(self, proba: np.ndarray) -> np.ndarray:
        """The decision rule applied to probabilities already computed (``None`` for
        ``estimator``: the rule needs the features)."""
        rule = getattr(self, "decision", "estimator")
        return None if rule == "estimator" else decide_index(proba, rule, self.cost)

    @property
    def decision_rule(self) -> str:
        """The decision rule in one sentence."""
        return describe_decision(
            getattr(self, "decision", "estimator"), getattr(self, "cost", "absolute")
        )

    def predict(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        return self.classes_[self.predict_index(X)]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        _check_fitted(self, "estimator_")
        seen = np.asarray(self.estimator_.classes_, dtype=int)
        proba = np.zeros((len(X), len(self.classes_)))
        proba[:, seen] = self.estimator_.predict_proba(X)
        return proba
