"""Per-feature contributions to one prediction: the reasons an answer shows.

Exact and additive where they are cheap:

* Linear models (the ordinal ridge, logistic regression): the model is linear in its
  encoded columns, so a feature's contribution is ``sum_c w_c * (x_c - b_c)`` over the
  feature's columns, where ``b`` is the reference student: every feature at its most
  common training value (what the fitted imputer puts in for a missing value). The
  contributions add up to the score's difference from the reference's score. Units:
  the ordinal ridge's score on the class index (+1 = one class higher), or the
  predicted class's logit for logistic regression.
* LightGBM: TreeSHAP (``pred_contrib``) for the predicted class's raw score, relative
  to the model's average raw score.

Other estimators have no cheap exact contributions: ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def explanation_kind(final: Any) -> str | None:
    """``ridge_score``, ``class_logit``, ``tree_shap`` or ``None`` (not explained)."""
    if hasattr(final, "regressor_"):
        return "ridge_score"
    if hasattr(final, "booster_"):
        return "tree_shap"
    if hasattr(final, "coef_"):
        return "class_logit"
    return None


EXPLANATION_UNITS = {
    "ridge_score": "ordinal score on the class index (+1 = one class higher), "
    "against a student with every feature at its most common value",
    "class_logit": "log-odds of the predicted class, against a student with every "
    "feature at its most common value",
    "tree_shap": "raw score (log-odds) of the predicted class, TreeSHAP against the "
    "model's average",
}


def feature_contributions(  # noqa: PLR0913 - the parts of one linear explanation
    final: Any,
    matrix: np.ndarray,
    baseline: np.ndarray,
    owned: Sequence[np.ndarray],
    predicted: np.ndarray,
) -> np.ndarray | None:
    """Each feature's contribution to each row's prediction (rows x features).

    Args:
        final: The fitted estimator after the preprocessing.
        matrix: The encoded rows (rows x encoded columns).
        baseline: The encoded reference row (1 x encoded columns).
        owned: Per feature, the encoded columns it owns.
        predicted: Each row's predicted class index (in ``final``'s classes).

    Returns:
        The contributions, or ``None`` when the estimator has no cheap exact ones.
    """
    kind = explanation_kind(final)
    if kind is None:
        return None
    if kind == "tree_shap":
        raw = final.booster_.predict(matrix, pred_contrib=True)
        width = matrix.shape[1] + 1
        per_class = np.asarray(raw).reshape(len(matrix), -1, width)[:, :, :-1]
        rows = np.arange(len(matrix))
        column_parts = per_class[
            rows, _class_rows(final, predicted, per_class.shape[1])
        ]
    else:
        centred = matrix - baseline
        if kind == "ridge_score":
            weights = np.asarray(final.regressor_.coef_)[None, :]
        else:
            coef = np.atleast_2d(final.coef_)
            weights = coef[_class_rows(final, predicted, len(coef))]
        column_parts = centred * weights
    return np.column_stack([column_parts[:, columns].sum(axis=1) for columns in owned])


def _class_rows(final: Any, predicted: np.ndarray, n_rows: int) -> np.ndarray:
    """The weight row of each predicted class (binary models have one row)."""
    if n_rows == 1:
        return np.zeros(len(predicted), dtype=int)
    classes = list(np.asarray(final.classes_).tolist())
    return np.array([classes.index(int(k)) for k in predicted])


def owned_columns(names: Sequence[str], features: Sequence[str]) -> list[np.ndarray]:
    """Per schema feature, the encoded columns it owns (by the preprocessor's names).

    ``onehot__Caste_OBC`` belongs to ``Caste``; the longest matching feature wins.
    """
    owner = []
    for column in names:
        body = column.split("__", 1)[1]
        owner.append(
            max((f for f in features if body == f or body.startswith(f"{f}_")), key=len)
        )
    owner_array = np.asarray(owner, dtype=object)
    return [np.flatnonzero(owner_array == f) for f in features]


def top_contributions(
    contributions: np.ndarray, features: Sequence[str]
) -> dict[str, float]:
    """One row's contributions, largest magnitude first."""
    order = np.argsort(-np.abs(contributions), kind="stable")
    return {features[i]: float(contributions[i]) for i in order}
