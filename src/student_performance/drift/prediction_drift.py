"""Prediction drift and performance drop: what the champion model does on a batch.

Pure functions on prediction frames (``prediction`` column, and the true target when
the batch has it). Performance is compared with the champion's own reference figures
(``rpt_selected_model_metrics``); a drop counts only when it is both larger than the
allowed relative drop and unlikely to be noise (one-sided bootstrap on the confusion
matrix, vectorised: its cost does not grow with the batch).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from student_performance.core.distinct import per_distinct_row
from student_performance.core.inference import PREDICTION, predict_frame
from student_performance.schema import DatasetSchema

from .detect import ColumnProfile, compare_column, json_float, profile_column
from .settings import DriftTestsParams, PerformanceParams
from .verdict import gate_level, verdict


def predicted_classes(
    model: Any, frame: pd.DataFrame, dataset: DatasetSchema
) -> pd.DataFrame:
    """The model's predicted class per row, with the true target when ``frame`` has it.

    The prediction is ``core.inference.predict_frame``'s (the one inference path of
    serving and batch scoring), computed once per distinct feature row.

    Args:
        model: The fitted model (``predict_proba``, ``predict_index``, ``classes_``).
        frame: Typed rows (the primary table's dtypes).
        dataset: The schema.

    Returns:
        ``prediction`` (categorical over the target's classes, in schema order) and the
        target column when present; same index as ``frame``.
    """
    target = dataset.target
    dtype = pd.CategoricalDtype(list(target.classes), ordered=target.ordinal)
    features = frame.loc[:, dataset.feature_names]
    predicted = (
        per_distinct_row(features, lambda rows: predict_frame(model, rows))[PREDICTION]
        if len(features)
        else pd.Series([], index=frame.index, dtype="object")
    )
    out = pd.DataFrame({PREDICTION: predicted.astype("object").astype(dtype)})
    if target.name in frame.columns:
        out[target.name] = frame[target.name].astype(dtype)
    return out


def prediction_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    dataset: DatasetSchema,
    thresholds: DriftTestsParams,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Distribution of predicted classes, batch against reference: test, PSI, level."""
    profiles = [_prediction_profile(frame, dataset) for frame in (reference, current)]
    row = compare_column(*profiles, {}, thresholds, rng)
    row.update(column=PREDICTION, role="prediction", p_value=json_float(row["p_value"]))
    row["p_adjusted"] = row["p_value"]  # a single test
    row["level"] = gate_level(
        row["p_adjusted"],
        row["psi"],
        thresholds.psi_warning,
        thresholds.psi_drift,
        thresholds.alpha,
    )
    row["flagged"] = row["level"] != "ok"
    row["reason"] = (
        f"predictions: distribution changed (PSI {row['psi']:.3f}, p {row['p_value']:.2g})"
        if row["flagged"]
        else None
    )
    return row


def _prediction_profile(frame: pd.DataFrame, dataset: DatasetSchema) -> ColumnProfile:
    # Profiled as the target (same classes and order), then renamed.
    profile = profile_column(frame[PREDICTION].rename(dataset.target.name), dataset)
    return ColumnProfile(
        PREDICTION, profile.kind, profile.categories, profile.counts, missing=0
    )


def confusion_counts(frame: pd.DataFrame, dataset: DatasetSchema) -> np.ndarray:
    """k x k counts (true class, predicted class) over the rows with a known target."""
    k = len(dataset.target.classes)
    true = frame[dataset.target.name].cat.codes.to_numpy()
    predicted = frame[PREDICTION].cat.codes.to_numpy()
    known = (true >= 0) & (predicted >= 0)
    cells = np.bincount(true[known] * k + predicted[known], minlength=k * k)
    return cells.reshape(k, k)


def scores(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy and macro F1 of one or many (leading axes) k x k confusion matrices.

    Macro F1 averages over the classes present in the truth or the predictions, as
    scikit-learn's ``f1_score(average="macro")`` does.
    """
    confusion = np.asarray(confusion, dtype=float)
    total = confusion.sum(axis=(-2, -1))
    tp = np.diagonal(confusion, axis1=-2, axis2=-1)
    support, predicted = confusion.sum(axis=-1), confusion.sum(axis=-2)
    denominator = support + predicted
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    present = denominator > 0
    return {
        "accuracy": tp.sum(axis=-1) / np.where(total > 0, total, 1),
        "f1_macro": f1.sum(axis=-1) / np.maximum(present.sum(axis=-1), 1),
    }


def _reference_figure(
    metrics: dict[str, Any], name: str, settings: PerformanceParams
) -> tuple[float | None, str | None]:
    """The champion's figure for ``name``: the configured block first, then the other."""
    other = "cv" if settings.reference == "holdout" else "holdout"
    for block in (settings.reference, other):
        figures = metrics.get(block) or {}
        if figures.get(name) is not None:
            return float(figures[name]), block
    return None, None


def performance_drop(
    current: pd.DataFrame,
    champion_metrics: dict[str, Any],
    *,
    dataset: DatasetSchema,
    thresholds: DriftTestsParams,
    settings: PerformanceParams,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Accuracy and macro F1 on the labelled batch rows against the champion's figures.

    Returns:
        ``status`` (``assessed``, ``no_target`` or ``insufficient_data``),
        ``labelled_rows`` and, per metric: ``reference`` (and which block it came
        from), ``current``, ``relative_drop``, ``p_value`` (one-sided bootstrap: share
        of resampled batches scoring at least the reference), ``level``.
    """
    if dataset.target.name not in current.columns:
        return {"status": "no_target", "labelled_rows": 0, "metrics": {}}
    confusion = confusion_counts(current, dataset)
    n = int(confusion.sum())
    if n < thresholds.min_rows:
        return {"status": "insufficient_data", "labelled_rows": n, "metrics": {}}
    observed = scores(confusion)
    resampled = rng.multinomial(
        n, confusion.ravel() / n, size=settings.bootstrap_samples
    )
    boot = scores(resampled.reshape(-1, *confusion.shape))
    results, missing = {}, []
    for name in settings.metrics:
        reference, block = _reference_figure(champion_metrics, name, settings)
        if reference is None or reference <= 0:
            missing.append(name)
            continue
        value = float(observed[name])
        drop = (reference - value) / reference
        p_value = (1 + np.count_nonzero(boot[name] >= reference)) / (
            len(boot[name]) + 1
        )
        flagged = drop > settings.max_relative_drop and p_value < thresholds.alpha
        results[name] = {
            "reference": json_float(reference),
            "reference_block": block,
            "current": json_float(value),
            "relative_drop": json_float(drop),
            "p_value": json_float(p_value),
            "level": "drift" if flagged else "ok",
        }
    return {
        "status": "assessed",
        "labelled_rows": n,
        "metrics": results,
        "no_reference_figure": missing,
    }


def model_alerts(
    prediction: dict[str, Any], performance: dict[str, Any]
) -> list[dict[str, Any]]:
    """Alerts (kind, level, message) from prediction drift and performance drop."""
    alerts = []
    if prediction.get("flagged"):
        alerts.append(
            {
                "kind": "prediction_drift",
                "level": prediction["level"],
                "message": prediction["reason"],
            }
        )
    for name, result in performance.get("metrics", {}).items():
        if result["level"] != "ok":
            message = (
                f"performance: {name} {result['current']:.3f} against "
                f"{result['reference']:.3f} ({result['reference_block']}), "
                f"{result['relative_drop']:.1%} lower (p {result['p_value']:.2g})"
            )
            alerts.append(
                {"kind": "performance_drop", "level": "drift", "message": message}
            )
    return alerts


def combine_with_inputs(
    input_report: dict[str, Any],
    prediction: dict[str, Any] | None,
    performance: dict[str, Any],
    thresholds: DriftTestsParams,
) -> dict[str, Any]:
    """One verdict over inputs, predictions and performance.

    A batch without a verdict on its inputs (``insufficient_data``) keeps that
    status: the model part adds nothing to judge.
    """
    parts = {
        "input": {
            k: input_report[k] for k in ("status", "reasons", "retrain_recommended")
        },
        "prediction": prediction,
        "performance": performance,
    }
    if input_report["status"] == "insufficient_data":
        return {**input_report, "columns": [], **parts}
    alerts = input_report["alerts"] + model_alerts(prediction or {}, performance)
    return {**verdict(alerts, thresholds), "rows": input_report["rows"], **parts}
