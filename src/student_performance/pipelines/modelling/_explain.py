"""Explanations of the selected model: a metric scorer for permutation importance and
exact per-feature contributions where they are cheap (linear models, LightGBM)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from student_performance.core.selection import higher_is_better
from student_performance.models.estimators import OrderedClassifier
from student_performance.models.metrics import classification_metrics
from student_performance.schema import DatasetSchema


def metric_scorer(metric: str, n_classes: int):
    """A scikit-learn scorer of one project metric (negated when lower is better)."""

    def score(estimator: OrderedClassifier, X, y) -> float:  # noqa: N803
        truth, predicted = estimator.to_index(y), estimator.predict_index(X)
        value = classification_metrics(
            truth, predicted, estimator.predict_proba(X), n_classes
        )[metric]
        return value if higher_is_better(metric) else -value

    return score


def mean_abs_contributions(
    model: OrderedClassifier,
    X: pd.DataFrame,  # noqa: N803
    dataset: DatasetSchema,
) -> np.ndarray:
    """Mean absolute contribution of each schema feature to the model's score.

    Exact for linear models (coefficient x centred input, summed over a feature's
    one-hot columns) and LightGBM (its TreeSHAP ``pred_contrib``); NaN otherwise.
    """
    pipeline = model.estimator_
    preprocess, estimator = (
        pipeline.named_steps["preprocess"],
        pipeline.named_steps["model"],
    )
    matrix = preprocess.transform(X)
    names = preprocess.get_feature_names_out()
    owner = np.array([_owner(n, dataset.feature_names) for n in names])
    if hasattr(estimator, "regressor_") or hasattr(estimator, "coef_"):
        coef = np.atleast_2d(getattr(estimator, "regressor_", estimator).coef_)
        centred = matrix - matrix.mean(axis=0)
        per_column = np.abs(centred[:, None, :] * coef[None, :, :]).sum(axis=1)
    elif hasattr(estimator, "booster_"):
        raw = estimator.booster_.predict(matrix, pred_contrib=True)
        per_column = np.abs(
            raw.reshape(len(X), -1, matrix.shape[1] + 1)[:, :, :-1]
        ).sum(axis=1)
    else:
        return np.full(len(dataset.feature_names), np.nan)
    return np.array(
        [per_column[:, owner == f].sum(axis=1).mean() for f in dataset.feature_names]
    )


def _owner(column: str, features: list[str]) -> str:
    """The schema feature an encoded column comes from (``onehot__Caste_OBC`` -> Caste)."""
    body = column.split("__", 1)[1]
    return max((f for f in features if body == f or body.startswith(f"{f}_")), key=len)
