"""Accuracy, macro F1 and quadratic weighted kappa from confusion matrices.

Realized figures (a bootstrap resample is a confusion matrix) and estimated ones (an
expected confusion matrix, or one per simulated draw of the labels) all reduce to a
confusion matrix, so one vectorised set of formulas serves both (and one way of
turning draws into an interval, ``with_intervals``). Every function takes
an array ``(..., k, k)``: rows true class, columns predicted class; counts may be
fractional (expected counts).
"""

from __future__ import annotations

import numpy as np

CONFUSION_METRICS = ("accuracy", "f1_macro", "quadratic_weighted_kappa")


def confusion_counts(
    truth: np.ndarray, predicted: np.ndarray, n_classes: int, weights=None
) -> np.ndarray:
    """The ``k x k`` confusion matrix of index arrays (optionally weighted rows)."""
    flat = np.asarray(truth, dtype=np.int64) * n_classes + np.asarray(predicted)
    counts = np.bincount(flat, weights=weights, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(float)


def batched_confusion(
    truth: np.ndarray,
    predicted: np.ndarray,
    n_classes: int,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """One confusion matrix per row of ``truth`` (``draws x n``): ``draws x k x k``.

    ``predicted`` is one index per column (the same predictions for every draw) or an
    array shaped like ``truth``; ``weights``, one per column, counts columns more than
    once (``None``: once).
    """
    truth = np.asarray(truth, dtype=np.int64)
    predicted = np.broadcast_to(np.asarray(predicted, dtype=np.int64), truth.shape)
    cells = n_classes * n_classes
    offset = np.arange(truth.shape[0], dtype=np.int64)[:, None] * cells
    flat = (offset + truth * n_classes + predicted).ravel()
    if weights is not None:
        weights = np.broadcast_to(np.asarray(weights, dtype=float), truth.shape)
        weights = weights.ravel()
    counts = np.bincount(flat, weights=weights, minlength=truth.shape[0] * cells)
    return counts.reshape(truth.shape[0], n_classes, n_classes).astype(float)


def accuracy(confusion: np.ndarray) -> np.ndarray:
    """The diagonal's share of all rows."""
    return np.trace(confusion, axis1=-2, axis2=-1) / confusion.sum(axis=(-2, -1))


def f1_macro(confusion: np.ndarray) -> np.ndarray:
    """The unweighted mean over classes of ``2 TP / (2 TP + FP + FN)``.

    A class neither true nor predicted counts 0, as scikit-learn's
    ``f1_score(labels=all, average="macro", zero_division=0)``.
    """
    hits = np.diagonal(confusion, axis1=-2, axis2=-1)
    volume = confusion.sum(axis=-1) + confusion.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(volume > 0, 2 * hits / volume, 0.0)
    return per_class.mean(axis=-1)


def quadratic_weighted_kappa(confusion: np.ndarray) -> np.ndarray:
    """Cohen's kappa with weights ``(i - j)^2``: 1 agrees, 0 is chance.

    NaN when the chance disagreement is 0 (one class only, true and predicted).
    """
    k = confusion.shape[-1]
    grid = np.arange(k)
    weights = (grid[:, None] - grid[None, :]) ** 2
    total = confusion.sum(axis=(-2, -1))
    chance = (
        confusion.sum(axis=-1)[..., :, None] * confusion.sum(axis=-2)[..., None, :]
    ) / total[..., None, None]
    observed = (weights * confusion).sum(axis=(-2, -1))
    expected = (weights * chance).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - observed / expected


def confusion_metrics(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric of ``CONFUSION_METRICS`` (arrays shaped like the leading axes)."""
    return {
        "accuracy": accuracy(confusion),
        "f1_macro": f1_macro(confusion),
        "quadratic_weighted_kappa": quadratic_weighted_kappa(confusion),
    }


def with_intervals(
    points: dict[str, float], draws: dict[str, np.ndarray], level: float, n: float
) -> dict[str, dict[str, float]]:
    """``n`` and each point with the central ``level`` share of its draws.

    The interval is widened to hold the point should a skewed distribution of the
    draws leave it outside.
    """
    tail = (1 - level) / 2 * 100
    result: dict[str, dict[str, float]] = {"n": {"value": float(n)}}
    for name, value in points.items():
        low, high = np.nanpercentile(draws[name], [tail, 100 - tail])
        result[name] = {
            "value": value,
            "low": float(min(low, value)),
            "high": float(max(high, value)),
        }
    return result
