"""Classification metrics for an ordinal target, named as they appear in MLflow."""

from __future__ import annotations

import re

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    cohen_kappa_score,
    log_loss,
    precision_recall_fscore_support,
)

METRICS = (
    "accuracy",
    "balanced_accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
    "quadratic_weighted_kappa",
    "log_loss",
)
LOWER_IS_BETTER = {"log_loss"}


def metric_name(name: str) -> str:
    """One part of an MLflow metric name: ``[A-Za-z0-9_-]`` only, runs of ``_`` merged.

    Every metric that names a feature goes through here (``eda.cramers_v.<feature>``,
    ``drift.psi.<feature>``), so one feature has one spelling in MLflow:
    ``"Class_ X_Percentage"`` becomes ``Class_X_Percentage``.
    """
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_-]", "_", name)).strip("_")


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray, n_classes: int
) -> dict[str, float]:
    """Every metric in ``METRICS`` for one set of predictions.

    Args:
        y_true: True class indices (0 = lowest class).
        y_pred: Predicted class indices.
        proba: Predicted probabilities, one column per class in order.
        n_classes: Number of classes (so a class absent from a fold still counts).

    Returns:
        Metric name to value.
    """
    labels = np.arange(n_classes)
    scores = {
        "accuracy": accuracy_score(y_true, y_pred),
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
        "quadratic_weighted_kappa": cohen_kappa_score(
            y_true, y_pred, labels=labels, weights="quadratic"
        ),
        "log_loss": log_loss(y_true, np.clip(proba, 1e-15, 1), labels=labels),
    }
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0
        )
        scores |= {
            f"precision_{average}": p,
            f"recall_{average}": r,
            f"f1_{average}": f,
        }
    return {name: float(scores[name]) for name in METRICS}
