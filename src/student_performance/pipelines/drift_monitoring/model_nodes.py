"""Nodes of the model's side of drift monitoring (``drift_monitoring_model``): what the
champion predicts on the batch, how well when the batch is labelled, how sure it is.

Thin wrappers over ``student_performance.drift.prediction_drift``; predictions are
``core.inference.predict_frame``'s, as in serving and batch scoring.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from student_performance.core.conformal import apply_set_calibration
from student_performance.core.groups import calibration_groups
from student_performance.drift.prediction_drift import (
    combine_with_inputs,
    model_alerts,
    performance_drop,
    predicted_classes,
    prediction_drift,
)
from student_performance.drift.settings import DriftTestsParams, PerformanceParams
from student_performance.schema import DatasetSchema

from .nodes import as_metric, collect_drift_gauges, log_alerts

logger = logging.getLogger(__name__)


def collect_model_drift_gauges(
    rpt_model_drift_report: dict[str, Any], rpt_drift_report: dict[str, Any]
) -> dict[str, Any]:
    """``collect_drift_gauges`` of the combined verdict (inputs, predictions,
    performance) of ``detect_model_drift``; the batch figures are the input report's.
    """
    return collect_drift_gauges(rpt_model_drift_report, rpt_drift_report)


def predict_for_drift(
    model_selected: Any,
    prm_students: pd.DataFrame,
    int_current_batch: pd.DataFrame,
    dataset: DatasetSchema,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The champion's predictions on the reference and on the current batch.

    Args:
        model_selected: The fitted model (``core.inference.predict_frame``'s).
        prm_students: The reference table (its predictions are in-sample for the
            champion: the reference distribution of predictions).
        int_current_batch: The typed batch (a large lazy batch: a bounded sample,
            ``profile_current_batch``).
        dataset: The schema.

    Returns:
        Two frames: ``prediction`` (categorical over the target's classes) and the
        target column when the rows have it.
    """
    reference = predicted_classes(model_selected, prm_students, dataset)
    current = predicted_classes(model_selected, int_current_batch, dataset)
    logger.info(
        "Predicted %d reference rows and %d batch rows", len(reference), len(current)
    )
    return reference, current


def detect_model_drift(  # noqa: PLR0917 - a node: Kedro passes its inputs by position
    pred_drift_reference: pd.DataFrame,
    pred_drift_current: pd.DataFrame,
    rpt_selected_model_metrics: dict[str, Any],
    rpt_drift_report: dict[str, Any],
    tests: DriftTestsParams,
    performance: PerformanceParams,
    dataset: DatasetSchema,
    random_seed: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Prediction drift and performance drop, joined with the input verdict.

    Args:
        pred_drift_reference: Predictions on the reference (``predict_for_drift``).
        pred_drift_current: Predictions on the batch, with the target when known.
        rpt_selected_model_metrics: The champion's figures: ``{"cv": {...},
            "holdout": {...}}`` with ``accuracy`` and ``f1_macro``.
        rpt_drift_report: The input drift report (``detect_batch_drift``).
        tests: Thresholds (alpha, PSI levels, ``min_rows``, ``retrain_on``).
        performance: Metrics, reference block, allowed relative drop, bootstrap size.
        dataset: The schema.
        random_seed: Seed of the Monte-Carlo p-value and the bootstrap.

    Returns:
        The model drift report (overall ``status``, ``retrain_recommended``,
        ``action``, ``reasons``, the ``input``, ``prediction``, ``performance``
        parts, ``predicted_rows`` and whether they are a sample of a large lazy batch,
        ``predicted_rows_sampled``) and its key figures as MLflow metrics.
    """
    rng = np.random.default_rng(random_seed)
    assessable = rpt_drift_report["status"] != "insufficient_data"
    prediction = (
        prediction_drift(pred_drift_reference, pred_drift_current, dataset, tests, rng)
        if assessable
        else None
    )
    drop = performance_drop(
        pred_drift_current,
        rpt_selected_model_metrics,
        dataset=dataset,
        thresholds=tests,
        settings=performance,
        rng=rng,
    )
    log_alerts(model_alerts(prediction or {}, drop), str(rpt_drift_report["batch"]))
    report = combine_with_inputs(rpt_drift_report, prediction, drop, tests)
    # A large lazy batch's predictions are of a bounded sample (profile_current_batch)
    report["predicted_rows"] = len(pred_drift_current)
    report["predicted_rows_sampled"] = rpt_drift_report["reading"]["model_rows_sampled"]
    logger.info(
        "Model drift: %s, retrain recommended: %s",
        report["status"],
        report["retrain_recommended"],
    )
    return report, _model_metrics(report)


def _model_metrics(report: dict[str, Any]) -> dict[str, Any]:
    metrics = {
        "status_code": as_metric(report["status_code"]),
        "retrain_recommended": as_metric(report["retrain_recommended"]),
    }
    if report["prediction"]:
        metrics["prediction_psi"] = as_metric(report["prediction"]["psi"] or 0.0)
    for name, result in report["performance"]["metrics"].items():
        metrics[name] = as_metric(result["current"])
        metrics[f"{name}_relative_drop"] = as_metric(result["relative_drop"])
    return metrics


def compare_prediction_set_sizes(
    model_selected: Any,
    model_set_calibration: dict[str, Any],
    prm_students: pd.DataFrame,
    int_current_batch: pd.DataFrame,
    dataset: DatasetSchema,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model's uncertainty on the batch: its mean prediction-set size vs reference.

    Larger sets on a batch than on the training rows mean the model is less sure about
    these students (new kinds of rows, or drifted ones), before any label arrives.

    Args:
        model_selected: The fitted model (``predict_proba`` on the feature columns).
        model_set_calibration: Its prediction sets' conformal calibration.
        prm_students: The reference rows.
        int_current_batch: The typed batch (may be empty; a large lazy batch: a
            bounded sample).
        dataset: The schema.

    Returns:
        The report (level, mean set size of the reference and of the batch, their
        difference, rows) and the same figures as MLflow metrics.
    """
    sizes = {}
    for name, frame in (("reference", prm_students), ("current", int_current_batch)):
        if len(frame) == 0:
            sizes[name] = None
            continue
        proba = model_selected.predict_proba(frame[dataset.feature_names])
        groups = calibration_groups(model_set_calibration, frame)
        members = apply_set_calibration(proba, model_set_calibration, groups=groups)
        sizes[name] = float(members.sum(axis=1).mean())
    change = None if sizes["current"] is None else sizes["current"] - sizes["reference"]
    report = {
        "level": model_set_calibration["level"],
        "reference_mean_set_size": sizes["reference"],
        "current_mean_set_size": sizes["current"],
        "change": change,
        "reference_rows": len(prm_students),
        "current_rows": len(int_current_batch),
    }
    metrics = {
        key: as_metric(value)
        for key, value in (
            ("set_size_reference", sizes["reference"]),
            ("set_size_current", sizes["current"]),
        )
        if value is not None
    }
    logger.info("Mean prediction-set size: reference %s, batch %s", *sizes.values())
    return report, metrics
