"""Performance estimated before the labels arrive, from calibrated probabilities alone.

Confidence-based performance estimation (the idea of NannyML's CBPE): if the
probabilities are calibrated, the true class of a row is a draw from its probability
row, so

- expected accuracy is the mean probability of the predicted class (the mean top
  probability when the decision is argmax);
- the expected confusion matrix is ``E[C_ij] = sum over rows predicted j of p_i``, and
  expected macro F1 and QWK are read off it;
- expected set coverage is the mean probability mass inside each prediction set.

The interval comes from simulation: labels drawn from the probabilities (seeded, many
draws), each metric computed per draw, the central ``level`` share of the draws kept.
It covers the sampling noise of the labels, assuming calibration; it cannot see a
change in the relation between features and class (concept shift).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from student_performance.frozen import Frozen
from student_performance.performance.confusion import (
    batched_confusion,
    confusion_metrics,
    with_intervals,
)

ROWS_PER_CHUNK = 2_000_000  # simulated labels held in memory at once


class EstimateParams(Frozen):
    """The simulated labels: draws, interval level and seed."""

    n_draws: int = Field(1000, ge=10)
    level: float = Field(0.95, gt=0, lt=1)
    seed: int = 0


def expected_confusion(
    proba: np.ndarray, predicted: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """``E[C_ij]``: summed probability of class ``i`` over the rows predicted ``j``.

    ``weights``: how many times each row counts (``None``: once).
    """
    onehot = np.eye(proba.shape[1])[np.asarray(predicted, dtype=int)]
    if weights is not None:
        onehot = onehot * np.asarray(weights, dtype=float)[:, None]
    return proba.T @ onehot


def estimated_figures(
    proba: np.ndarray,
    predicted: np.ndarray,
    members: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> dict[str, float]:
    """Expected accuracy, macro F1, QWK (and set coverage with ``members``).

    Accuracy and set coverage are exact expectations; macro F1 and QWK are the
    metrics of the expected confusion matrix (ratios of expectations). ``weights``:
    how many times each row counts (``None``: once).
    """
    expected = expected_confusion(proba, predicted, weights)
    figures = {
        name: float(value) for name, value in confusion_metrics(expected).items()
    }
    if members is not None:
        inside = (proba * members).sum(axis=1)
        figures["set_coverage"] = float(np.average(inside, weights=weights))
    return figures


def draw_labels(proba: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """``draws x n`` class indices, each row's class drawn from its probabilities."""
    cumulative = np.cumsum(proba, axis=1)
    cumulative[:, -1] = 1.0  # rounding must not leave a draw above the last class
    uniform = rng.random((draws, len(proba)))
    return (uniform[..., None] > cumulative[None]).sum(axis=-1)


def simulated_figures(
    proba: np.ndarray,
    predicted: np.ndarray,
    params: EstimateParams,
    members: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Every estimated metric on ``params.n_draws`` seeded draws of the labels.

    A row of weight ``w`` is one label drawn once and counted ``w`` times (a
    student seen ``w`` times), not ``w`` independent labels.
    """
    rng = np.random.default_rng(params.seed)
    n, k = proba.shape
    chunk = max(1, ROWS_PER_CHUNK // max(n * k, 1))
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, params.n_draws, chunk):
        labels = draw_labels(proba, min(chunk, params.n_draws - start), rng)
        confusion = batched_confusion(labels, predicted, k, weights)
        figures = confusion_metrics(confusion)
        if members is not None:
            inside = members[np.arange(n), labels]
            figures["set_coverage"] = np.average(inside, axis=1, weights=weights)
        parts.append(figures)
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def estimate_performance(
    proba: np.ndarray,
    predicted: np.ndarray,
    params: EstimateParams,
    members: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> dict[str, dict[str, float]]:
    """Each estimated metric and its 95 % (``params.level``) simulation interval.

    Args:
        proba: Calibrated probabilities, ``(n, k)``, columns in class order.
        predicted: The served class index per row.
        params: Draws, level, seed.
        members: Prediction-set membership ``(n, k)``, or ``None``.
        weights: How many times each row counts (``None``: once); a repeated row's
            label is drawn once.

    Returns:
        ``n`` (``{"value": rows}``, weighted) and per metric (accuracy, f1_macro,
        quadratic_weighted_kappa, set_coverage with ``members``) ``value``, ``low``
        and ``high``: the central ``level`` share of the simulated figures, widened
        to hold the value should it fall outside.
    """
    points = estimated_figures(proba, predicted, members, weights)
    draws = simulated_figures(proba, predicted, params, members, weights)
    n = len(proba) if weights is None else float(np.sum(weights))
    return with_intervals(points, draws, params.level, n)
