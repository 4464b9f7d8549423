"""The selected model's report nodes: its one holdout score (metrics, per-class report,
confusion matrix) and the summary of its figures (CV, holdout, sets, the baseline)."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from sklearn.metrics import classification_report

from student_performance.core.selection import (
    features_and_target,
)
from student_performance.models.estimators import OrderedClassifier
from student_performance.models.metrics import METRICS, classification_metrics
from student_performance.schema import DatasetSchema

from ._figures import confusion_figure

logger = logging.getLogger(__name__)


def evaluate_holdout(
    model_selected: OrderedClassifier, mi_holdout: pd.DataFrame, dataset: DatasetSchema
) -> tuple[dict[str, float], dict[str, Any], Any]:
    """Score the selected model once on the holdout.

    Args:
        model_selected: Output of ``fit_selected_model``.
        mi_holdout: The holdout.
        dataset: The schema.

    Returns:
        Every metric, the per-class report and a confusion-matrix figure.
    """
    X, y = features_and_target(mi_holdout, dataset)
    truth, predicted = model_selected.to_index(y), model_selected.predict_index(X)
    classes = list(dataset.target.classes)
    metrics = classification_metrics(
        truth, predicted, model_selected.predict_proba(X), len(classes)
    )
    report = classification_report(
        truth,
        predicted,
        labels=range(len(classes)),
        target_names=classes,
        output_dict=True,
        zero_division=0,
    )
    figure = confusion_figure(truth, predicted, classes)
    logger.info(
        "Holdout (%d rows): %s", len(X), {k: round(v, 3) for k, v in metrics.items()}
    )
    return metrics, report, figure


def report_selected_model(
    selected: dict[str, Any],
    holdout_metrics: dict[str, float],
    rpt_cv_summary: pd.DataFrame,
    rpt_prediction_sets: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """The selected model's figures: CV on development, holdout, and the baseline's CV.

    Args:
        selected: Output of ``summarise_candidates``.
        holdout_metrics: Output of ``evaluate_holdout``.
        rpt_cv_summary: One row per candidate (for the baseline's figures).
        rpt_prediction_sets: Output of ``evaluate_set_coverage``.

    Returns:
        The summary document and its figures as MLflow metrics (``cv_<m>``,
        ``holdout_<m>``, ``cv_set_coverage``, ``cv_set_size`` and
        ``cv_set_coverage_<class>``).
    """
    summary = {
        "model": selected["candidate"],
        "estimator": selected["estimator"],
        "params": selected["params"],
        "primary_metric": selected["primary_metric"],
        "cv": selected["cv"],
        "cv_std": selected["cv_std"],
        "holdout": holdout_metrics,
        "decision": selected.get("decision"),
        "prediction_sets": rpt_prediction_sets,
        "candidates_cv": {
            row["candidate"]: {m: float(row[f"{m}_mean"]) for m in METRICS}
            for _, row in rpt_cv_summary.iterrows()
        },
    }
    metrics = {
        f"cv_{m}": {"value": v, "step": 0} for m, v in selected["cv"].items()
    } | {f"holdout_{m}": {"value": v, "step": 0} for m, v in holdout_metrics.items()}
    sets = rpt_prediction_sets
    metrics |= {
        "cv_set_coverage": {"value": sets["coverage"], "step": 0},
        "cv_set_size": {"value": sets["set_size"], "step": 0},
    } | {
        f"cv_set_coverage_{name}": {"value": figures["coverage"], "step": 0}
        for name, figures in sets["per_class"].items()
    }
    return summary, metrics
