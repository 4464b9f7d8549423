"""The explanation nodes of the selected model (permutation importance on the holdout,
per-row contributions of the holdout rows) and their helpers: a metric scorer and exact
per-feature contributions where they are cheap (linear models, LightGBM)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from student_performance.core.explain import (
    EXPLANATION_UNITS,
    explanation_kind,
    feature_contributions,
    owned_columns,
)
from student_performance.core.params import ExplainParams
from student_performance.core.selection import features_and_target, higher_is_better
from student_performance.models.estimators import OrderedClassifier
from student_performance.models.metrics import classification_metrics
from student_performance.schema import DatasetSchema

from ._figures import importance_figure

logger = logging.getLogger(__name__)


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


def explain_model(
    model_selected: OrderedClassifier,
    mi_holdout: pd.DataFrame,
    dataset: DatasetSchema,
    explain: ExplainParams,
) -> tuple[pd.DataFrame, Any]:
    """Permutation importance on the holdout, plus exact contributions where cheap.

    Permutation importance (drop in the primary metric when a feature's column is
    shuffled) works for every model. Exact per-feature contributions are added for
    linear models (coefficient x centred input, summed over a feature's one-hot
    columns) and LightGBM (its TreeSHAP ``pred_contrib``): the mean absolute
    contribution to the score of the ordinal index (ridge) or, for classifiers, summed
    over classes.

    Args:
        model_selected: The fitted model.
        mi_holdout: The holdout.
        dataset: The schema.
        explain: ``n_repeats``, ``seed`` and ``scoring`` (a metric name).

    Returns:
        A table (feature, importance mean/std, mean |contribution|) sorted by
        importance, and a bar chart of it.
    """
    from sklearn.inspection import permutation_importance  # noqa: PLC0415

    explain = ExplainParams.model_validate(explain)
    X, y = features_and_target(mi_holdout, dataset)
    scorer = metric_scorer(explain.scoring, len(dataset.target.classes))
    result = permutation_importance(
        model_selected,
        X,
        y,
        scoring=scorer,
        n_repeats=explain.n_repeats,
        random_state=explain.seed,
    )
    table = pd.DataFrame(
        {
            "feature": dataset.feature_names,
            "permutation_importance_mean": result.importances_mean,
            "permutation_importance_std": result.importances_std,
            "mean_abs_contribution": mean_abs_contributions(model_selected, X, dataset),
        }
    ).sort_values("permutation_importance_mean", ascending=False, ignore_index=True)
    logger.info(
        "Most important on the holdout: %s", ", ".join(table["feature"].head(3))
    )
    return table, importance_figure(table, explain.scoring)


def explain_holdout_rows(
    model_selected: OrderedClassifier, mi_holdout: pd.DataFrame, dataset: DatasetSchema
) -> pd.DataFrame:
    """Each holdout row's per-feature contributions, as ``/predict?explain=true`` gives.

    Args:
        model_selected: The fitted model (a preprocessing + estimator pipeline).
        mi_holdout: The holdout.
        dataset: The schema.

    Returns:
        One row per holdout row (same index): the true and predicted class, the
        contributions' units and one column per feature (``contribution_<feature>``);
        empty when the estimator has no cheap exact contributions.
    """
    X, y = features_and_target(mi_holdout, dataset)
    preprocess, final = model_selected.estimator_[:-1], model_selected.estimator_[-1]
    kind = explanation_kind(final)
    if kind is None:
        logger.info("No exact contributions for %s", type(final).__name__)
        return pd.DataFrame()
    reference = X.iloc[:1].where(
        pd.DataFrame(False, index=X.index[:1], columns=X.columns)
    )
    predicted = model_selected.predict_index(X)
    contributions = feature_contributions(
        final,
        preprocess.transform(X),
        preprocess.transform(reference),
        owned_columns(preprocess.get_feature_names_out(), dataset.feature_names),
        predicted,
    )
    table = pd.DataFrame(
        contributions,
        index=mi_holdout.index,
        columns=[f"contribution_{f}" for f in dataset.feature_names],
    )
    table.insert(0, "units", EXPLANATION_UNITS[kind])
    table.insert(0, "predicted", model_selected.classes_[predicted])
    table.insert(0, "truth", y)
    return table
