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
    "brier",
    "ece",
)
LOWER_IS_BETTER = {"log_loss", "brier", "ece"}
ECE_BINS = 10


def brier_score(y_true: np.ndarray, proba: np.ndarray) -> float:
    """Multi-class Brier score: mean over rows of ``sum_k (p_k - [y = k])^2``.

    0 is perfect; always answering the class shares scores ``1 - sum_k share_k^2``.
    """
    onehot = np.eye(proba.shape[1])[np.asarray(y_true, dtype=int)]
    return float(((proba - onehot) ** 2).sum(axis=1).mean())


def reliability_sums(
    y_true: np.ndarray, proba: np.ndarray, n_bins: int = ECE_BINS
) -> dict[str, list[float]]:
    """Per top-label confidence bin: rows, summed confidence and correct rows.

    Sums (not means), so that folds can be pooled by adding them up.
    """
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == np.asarray(y_true, dtype=int)
    which = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    return {
        "rows": np.bincount(which, minlength=n_bins).astype(float).tolist(),
        "confidence": np.bincount(which, confidence, n_bins).tolist(),
        "correct": np.bincount(which, correct.astype(float), n_bins).tolist(),
    }


def reliability_bins(
    y_true: np.ndarray, proba: np.ndarray, n_bins: int = ECE_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-label reliability: per confidence bin, mean confidence, accuracy and rows.

    The confidence of a row is its largest probability; it is correct when that
    class is the true class. Bins split [0, 1] into ``n_bins`` equal widths (the top
    one closed); an empty bin has NaN confidence and accuracy.
    """
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == np.asarray(y_true, dtype=int)
    which = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    counts = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, confidence, n_bins) / counts
        accuracy = np.bincount(which, correct.astype(float), n_bins) / counts
    return mean_conf, accuracy, counts


def expected_calibration_error(
    y_true: np.ndarray, proba: np.ndarray, n_bins: int = ECE_BINS
) -> float:
    """Top-label ECE: ``sum_b n_b / n * |accuracy_b - confidence_b|`` over the bins."""
    mean_conf, accuracy, counts = reliability_bins(y_true, proba, n_bins)
    filled = counts > 0
    gaps = np.abs(accuracy[filled] - mean_conf[filled])
    return float((counts[filled] * gaps).sum() / counts.sum())


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
        "brier": brier_score(y_true, proba),
        "ece": expected_calibration_error(y_true, proba),
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
