"""Realized performance: the figures of predictions whose true class came back.

Each figure carries a seeded percentile-bootstrap interval (rows resampled with
replacement), and ``judge`` turns realized against promised (the model's own
repeated-CV figures) into ``ok``, ``warning`` or ``degraded`` by a stated rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from student_performance.frozen import Frozen
from student_performance.models.metrics import (
    ECE_BINS,
    classification_metrics,
    expected_calibration_error,
)
from student_performance.performance.confusion import (
    CONFUSION_METRICS,
    batched_confusion,
    confusion_metrics,
    with_intervals,
)

REALIZED_METRICS = (
    *CONFUSION_METRICS,
    "log_loss",
    "brier",
    "ece",
    "set_coverage",
    "set_size",
)
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "ece", "set_size"})
STATUSES = ("ok", "warning", "degraded")  # best first
Status = Literal["ok", "warning", "degraded"]
ROWS_PER_CHUNK = 2_000_000  # resampled rows held in memory at once
PROBA_DIMS = 2  # rows x classes
EPSILON = 1e-15  # log loss clips probabilities here, as models.metrics does


@dataclass(frozen=True)
class Outcomes:
    """Predictions with their true classes, as index arrays (0 = lowest class).

    Attributes:
        truth: True class per row, ``(n,)``.
        proba: Predicted probabilities, ``(n, k)``, columns in class order.
        predicted: Predicted class per row, ``(n,)``.
        members: Prediction-set membership, ``(n, k)`` booleans, or ``None``.
    """

    truth: np.ndarray
    proba: np.ndarray
    predicted: np.ndarray
    members: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.truth)
        shapes = {len(self.predicted), len(self.proba)}
        if self.members is not None and self.members.shape != self.proba.shape:
            raise ValueError("members must be shaped like proba (rows x classes)")
        if shapes != {n} or self.proba.ndim != PROBA_DIMS or not n:
            raise ValueError("truth, proba and predicted need the same rows (>= 1)")

    @property
    def n_classes(self) -> int:
        """Number of classes (columns of ``proba``)."""
        return self.proba.shape[1]


class RealizedParams(Frozen):
    """The bootstrap: resamples, interval level, seed; and the ECE's bins."""

    n_resamples: int = Field(1000, ge=10)
    level: float = Field(0.95, gt=0, lt=1)
    seed: int = 0
    ece_bins: int = Field(ECE_BINS, ge=1)


class HealthParams(Frozen):
    """How far below its promise a figure may fall before it counts (metric units).

    Rule, per metric with a promise and a tolerance (lower-is-better metrics
    mirrored): ``degraded`` when the interval's upper bound is below
    ``promise - tolerance`` (the shortfall is beyond sampling noise); ``warning``
    when the point is below ``promise - tolerance``; else ``ok``. The batch's status
    is its worst metric's.
    """

    tolerance: dict[str, float] = {
        "accuracy": 0.05,
        "f1_macro": 0.05,
        "quadratic_weighted_kappa": 0.07,
        "log_loss": 0.1,
        "brier": 0.05,
        "set_coverage": 0.03,
    }

    @field_validator("tolerance")
    @classmethod
    def _known_metrics(cls, tolerance: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(tolerance) - set(REALIZED_METRICS))
        if unknown:
            raise ValueError(f"{unknown} are not among {REALIZED_METRICS}")
        return tolerance


def _row_values(outcomes: Outcomes, ece_bins: int) -> dict[str, np.ndarray]:
    rows = np.arange(len(outcomes.truth))
    proba, truth = outcomes.proba, outcomes.truth
    onehot = np.eye(outcomes.n_classes)[truth]
    confidence = proba.max(axis=1)
    values = {
        "log_loss": -np.log(np.clip(proba[rows, truth], EPSILON, 1)),
        "brier": ((proba - onehot) ** 2).sum(axis=1),
        "confidence": confidence,
        "correct": (proba.argmax(axis=1) == truth).astype(float),
        "bin": np.minimum((confidence * ece_bins).astype(int), ece_bins - 1),
    }
    if outcomes.members is not None:
        values["set_coverage"] = outcomes.members[rows, truth].astype(float)
        values["set_size"] = outcomes.members.sum(axis=1).astype(float)
    return values


def _resampled(
    outcomes: Outcomes, values: dict[str, np.ndarray], index: np.ndarray, bins: int
) -> dict[str, np.ndarray]:
    """Every metric on each resample (a row of ``index``)."""
    k, n = outcomes.n_classes, index.shape[1]
    confusion = batched_confusion(outcomes.truth[index], outcomes.predicted[index], k)
    figures = confusion_metrics(confusion)
    for name in ("log_loss", "brier", "set_coverage", "set_size"):
        if name in values:
            figures[name] = values[name][index].mean(axis=1)
    flat = (np.arange(len(index))[:, None] * bins + values["bin"][index]).ravel()
    size = len(index) * bins
    gap = np.bincount(flat, values["correct"][index].ravel(), size) - np.bincount(
        flat, values["confidence"][index].ravel(), size
    )
    figures["ece"] = np.abs(gap.reshape(len(index), bins)).sum(axis=1) / n
    return figures


def realized_figures(outcomes: Outcomes, ece_bins: int = ECE_BINS) -> dict[str, float]:
    """Every metric of ``REALIZED_METRICS`` on these rows (set ones need ``members``).

    Accuracy, macro F1, QWK, log loss, Brier and ECE are ``models.metrics``'
    ``classification_metrics`` (scikit-learn's figures).
    """
    scores = classification_metrics(
        outcomes.truth, outcomes.predicted, outcomes.proba, outcomes.n_classes
    )
    figures = {name: scores[name] for name in REALIZED_METRICS if name in scores}
    figures["ece"] = expected_calibration_error(
        outcomes.truth, outcomes.proba, ece_bins
    )
    if outcomes.members is not None:
        rows = np.arange(len(outcomes.truth))
        figures["set_coverage"] = float(outcomes.members[rows, outcomes.truth].mean())
        figures["set_size"] = float(outcomes.members.sum(axis=1).mean())
    return figures


def bootstrap_figures(
    outcomes: Outcomes, params: RealizedParams
) -> dict[str, np.ndarray]:
    """Every metric on ``params.n_resamples`` seeded bootstrap resamples of the rows."""
    rng = np.random.default_rng(params.seed)
    n = len(outcomes.truth)
    values = _row_values(outcomes, params.ece_bins)
    chunk = max(1, ROWS_PER_CHUNK // max(n, 1))
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, params.n_resamples, chunk):
        size = min(chunk, params.n_resamples - start)
        index = rng.integers(0, n, size=(size, n))
        parts.append(_resampled(outcomes, values, index, params.ece_bins))
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def realized_performance(
    outcomes: Outcomes, params: RealizedParams
) -> dict[str, dict[str, float]]:
    """Each metric's value and bootstrap interval on these rows.

    Args:
        outcomes: The predictions and their true classes (at least one row).
        params: Resamples, level, seed, ECE bins.

    Returns:
        ``n`` (``{"value": rows}``) and, per metric of ``REALIZED_METRICS`` (set ones
        only with ``members``), ``value``, ``low`` and ``high``: the percentile
        interval at ``params.level``, widened to hold the value should a skewed
        resampling distribution leave it outside.
    """
    points = realized_figures(outcomes, params.ece_bins)
    draws = bootstrap_figures(outcomes, params)
    return with_intervals(points, draws, params.level, len(outcomes.truth))


def judge_metric(
    name: str, figure: dict[str, float], promise: float, tolerance: float
) -> Status:
    """One metric's status under ``HealthParams``' rule."""
    sign = -1.0 if name in LOWER_IS_BETTER else 1.0
    floor = sign * promise - tolerance
    best = max(sign * figure["low"], sign * figure["high"])
    if best < floor:
        return "degraded"
    if sign * figure["value"] < floor:
        return "warning"
    return "ok"


def judge(
    realized: dict[str, dict[str, float]],
    promised: dict[str, float],
    params: HealthParams,
) -> dict[str, object]:
    """Realized figures against the model's promise: the batch's status and why.

    Args:
        realized: Output of ``realized_performance``.
        promised: Metric to the model's own figure (e.g. the selection's CV means,
            ``set_coverage``: the conformal level); metrics without a promise or a
            tolerance are not judged.
        params: The tolerances.

    Returns:
        ``status`` (the worst judged metric's; ``ok`` when none is judged) and
        ``metrics``: per judged metric its status, value, interval, promise and
        tolerance.
    """
    verdicts = {}
    for name, tolerance in params.tolerance.items():
        figure = realized.get(name)
        if figure is None or name not in promised or np.isnan(figure["value"]):
            continue
        status = judge_metric(name, figure, promised[name], tolerance)
        verdicts[name] = figure | {
            "status": status,
            "promise": float(promised[name]),
            "tolerance": tolerance,
        }
    worst = max((STATUSES.index(v["status"]) for v in verdicts.values()), default=0)
    return {"status": STATUSES[worst], "metrics": verdicts}
