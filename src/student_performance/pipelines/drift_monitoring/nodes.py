"""Nodes of the drift_monitoring pipeline: is the current batch still like the data the
champion was trained on, and what should be done about it?

Thin wrappers: the statistics and rendering are pure functions in
``student_performance.drift``. Nodes log one INFO line each and one WARNING per alert.
The seeded simulations are the ``drift_simulation`` pipeline.
"""

from __future__ import annotations

import logging
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd

from student_performance.core.conformal import apply_set_calibration
from student_performance.drift.detect import compare_profiles, profile_frame
from student_performance.drift.html import render_html
from student_performance.drift.model import (
    combine_with_inputs,
    model_alerts,
    performance_drop,
    predict_frame,
    prediction_drift,
)
from student_performance.drift.pieces import BatchProfile, profile_batch, profile_rows
from student_performance.drift.settings import (
    BatchSettings,
    DriftThresholds,
    PerformanceSettings,
    ReadingSettings,
)
from student_performance.models.metrics import metric_name
from student_performance.schema import DatasetSchema
from student_performance.scoring.engines import engine_client, worker_count
from student_performance.scoring.settings import EngineSettings
from student_performance.scoring.source import RawBatch

logger = logging.getLogger(__name__)


def _log_alerts(alerts: list[dict[str, Any]], source: str) -> None:
    """One WARNING line per alert."""
    for alert in alerts:
        logger.warning(
            "Drift alert [%s, %s] in %s: %s",
            alert["level"],
            alert["kind"],
            source,
            alert["message"],
        )


def _reading_summary(profile: BatchProfile, engine: str, workers: int) -> dict:
    return {
        "engine": engine,
        "workers": workers,
        "pieces": profile.pieces,
        "malformed_records": profile.malformed,
        "model_rows": len(profile.sample),
        "model_rows_sampled": len(profile.sample) < profile.rows,
    }


def profile_current_batch(
    raw_drift_batch: pd.DataFrame | RawBatch,
    dataset: DatasetSchema,
    batch: BatchSettings,
    reading: ReadingSettings,
    engine: EngineSettings,
    random_seed: int,
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Clean, type and profile the current batch exactly as training data is cleaned.

    A frame (base: one CSV file; served: the prediction log) is profiled whole, here.
    A lazy batch (``--env dask``: a file, glob or folder) is profiled piece by piece
    on the engine's Dask cluster (``engine.name: dask``) or here (``pandas``); the
    counts add up to the whole batch's (``drift.pieces``).

    Args:
        raw_drift_batch: Raw rows, every cell as text, or a ``RawBatch``: all feature
            columns, the target optionally (then performance can be measured); other
            columns follow the schema's ``unknown_columns`` policy.
        dataset: The schema.
        batch: ``path``: the batch given at run time (its name in the report).
        reading: A lazy batch's ``chunk_rows`` and the model part's ``model_rows``.
        engine: Where a lazy batch's pieces are profiled (``scoring.engines``).
        random_seed: Seed of the model part's sample of a large lazy batch.

    Returns:
        The column profiles with how they were read (engine, workers, pieces,
        malformed records left out, rows for the model part); the typed rows for the
        model part (a frame's every row; a lazy batch's at most ``model_rows``); the
        values the schema does not allow (``column``, ``value``, ``count``).

    Raises:
        RawDataError: Feature columns missing (named in the message, with the columns
            found), or unknown columns under ``unknown_columns: error``.
    """
    if isinstance(raw_drift_batch, pd.DataFrame):
        profile = profile_rows(raw_drift_batch, dataset)
        summary = _reading_summary(profile, "pandas", 1)
        summary["malformed_records"] = None  # the frame's reader left them out
    else:
        with engine_client(engine) as client:
            profile = profile_batch(
                raw_drift_batch,
                dataset,
                reading.chunk_rows,
                client,
                max_rows=reading.model_rows,
                seed=random_seed,
            )
            summary = _reading_summary(profile, engine.name, worker_count(client))
    logger.info(
        "Current batch %s: %d rows, target %s, %d values not allowed by the schema; "
        "%s engine, %d workers, %d pieces, %s malformed records left out; %d rows "
        "for the model part%s",
        batch.path,
        profile.rows,
        "present" if dataset.target.name in profile.profiles else "absent",
        int(profile.unseen["count"].sum()),
        summary["engine"],
        summary["workers"],
        summary["pieces"],
        summary["malformed_records"],
        summary["model_rows"],
        " (a sample)" if summary["model_rows_sampled"] else "",
    )
    current = {"profiles": profile.profiles, "reading": summary}
    return current, profile.sample, profile.unseen


def detect_batch_drift(  # noqa: PLR0917 - a node: Kedro passes its inputs by position
    prm_students: pd.DataFrame,
    int_current_profile: dict[str, Any],
    int_unseen_values: pd.DataFrame,
    dataset: DatasetSchema,
    tests: DriftThresholds,
    batch: BatchSettings,
    random_seed: int,
) -> dict[str, Any]:
    """Compare the batch with the reference, column by column, and give a verdict.

    Args:
        prm_students: The reference: the primary table the champion was trained on.
        int_current_profile: ``profile_current_batch``'s first output.
        int_unseen_values: Its third output.
        dataset: The schema.
        tests: Tests, effect-size gates and alert levels (``DriftThresholds``).
        batch: ``path`` of the batch.
        random_seed: Seed of the Monte-Carlo p-values.

    Returns:
        The drift report: ``status`` (``ok`` / ``warning`` / ``drift`` /
        ``insufficient_data``), ``retrain_recommended``, ``action``,
        ``reasons``, ``alerts``, ``reading`` (how the batch was read) and one entry
        per column (test, statistic, p, adjusted p, PSI, JS, missing-share change,
        unseen values, level, reason).
    """
    report = compare_profiles(
        profile_frame(prm_students, dataset),
        int_current_profile["profiles"],
        int_unseen_values,
        dataset=dataset,
        thresholds=tests,
        seed=random_seed,
    )
    _log_alerts(report["alerts"], batch.path)
    if report["status"] == "insufficient_data":
        logger.warning("No drift verdict for %s: %s", batch.path, report["action"])
    report = {
        "dataset": dataset.name,
        "batch": batch.path,
        "reference_rows": len(prm_students),
        "reading": int_current_profile["reading"],
        **report,
    }
    logger.info(
        "Drift on %s: %s (%d alerts), retrain recommended: %s",
        batch.path,
        report["status"],
        len(report["alerts"]),
        report["retrain_recommended"],
    )
    return report


def render_drift_report(rpt_drift_report: dict[str, Any]) -> str:
    """The drift report as a self-contained HTML page (plotly.js inline).

    Args:
        rpt_drift_report: Output of ``detect_batch_drift``.

    Returns:
        A complete HTML document.
    """
    page = render_html(rpt_drift_report)
    logger.info("Drift HTML report: %.1f MB", len(page) / 1e6)
    return page


def _metric(value: float, step: int = 0) -> dict[str, float | int]:
    return {"value": float(value), "step": step}


def collect_drift_metrics(rpt_drift_report: dict[str, Any]) -> dict[str, Any]:
    """The key figures as MLflow metrics (``{"name": {"value": v, "step": s}}``).

    Args:
        rpt_drift_report: Output of ``detect_batch_drift``.

    Returns:
        ``status_code`` (-1 insufficient data, 0 ok, 1 warning, 2 drift),
        ``retrain_recommended``, ``rows``, ``columns_flagged``, ``columns_drifted``,
        ``max_psi``, ``psi.<column>`` (column named by ``metric_name``).
    """
    report, columns = rpt_drift_report, rpt_drift_report["columns"]
    metrics = {
        "status_code": _metric(report["status_code"]),
        "retrain_recommended": _metric(report["retrain_recommended"]),
        "rows": _metric(report["rows"]),
    }
    if columns:
        metrics |= {
            "columns_flagged": _metric(sum(c["flagged"] for c in columns)),
            "columns_drifted": _metric(sum(c["level"] == "drift" for c in columns)),
            "max_psi": _metric(max(c["psi"] or 0.0 for c in columns)),
        } | {
            f"psi.{metric_name(c['column'])}": _metric(c["psi"] or 0.0) for c in columns
        }
    logger.info("Drift metrics: %d names", len(metrics))
    return metrics


def collect_drift_gauges(
    report: dict[str, Any], rpt_drift_report: dict[str, Any]
) -> dict[str, Any]:
    """A verdict's key figures as gauges for Prometheus (pushed by the catalog).

    Args:
        report: The verdict to publish: ``detect_batch_drift``'s report or
            ``detect_model_drift``'s (``status_code``, ``retrain_recommended``).
        rpt_drift_report: The input drift report (its ``batch``, ``rows`` and
            ``columns``).

    Returns:
        ``batch`` (the file name, a label of every gauge), ``status_code`` (-1
        insufficient data, 0 ok, 1 warning, 2 drift), ``retrain_recommended``,
        ``rows``, ``columns_flagged``, ``columns_drifted``, ``max_psi``, each with its
        help text.
    """
    columns = rpt_drift_report["columns"]
    figures = {
        "status_code": (
            report["status_code"],
            "Verdict of the last run: -1 insufficient data, 0 ok, 1 warning, 2 drift",
        ),
        "retrain_recommended": (
            int(report["retrain_recommended"]),
            "1 when the last run recommends retraining",
        ),
        "rows": (rpt_drift_report["rows"], "Rows of the last batch"),
        "columns_flagged": (
            sum(c["flagged"] for c in columns),
            "Columns at warning or drift level",
        ),
        "columns_drifted": (
            sum(c["level"] == "drift" for c in columns),
            "Columns at drift level",
        ),
        "max_psi": (
            max((c["psi"] or 0.0 for c in columns), default=0.0),
            "Largest PSI of a column",
        ),
    }
    gauges: dict[str, Any] = {"batch": PurePath(str(rpt_drift_report["batch"])).name}
    gauges |= {
        name: {"value": float(value), "help": text}
        for name, (value, text) in figures.items()
    }
    logger.info(
        "Drift gauges: status_code %s on %s", report["status_code"], gauges["batch"]
    )
    return gauges


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
        model_selected: The fitted classifier (``predict`` on the feature columns).
        prm_students: The reference table (its predictions are in-sample for the
            champion: the reference distribution of predictions).
        int_current_batch: The typed batch (a large lazy batch: a bounded sample,
            ``profile_current_batch``).
        dataset: The schema.

    Returns:
        Two frames: ``prediction`` (categorical over the target's classes) and the
        target column when the rows have it.
    """
    reference = predict_frame(model_selected, prm_students, dataset)
    current = predict_frame(model_selected, int_current_batch, dataset)
    logger.info(
        "Predicted %d reference rows and %d batch rows", len(reference), len(current)
    )
    return reference, current


def detect_model_drift(  # noqa: PLR0917 - a node: Kedro passes its inputs by position
    pred_drift_reference: pd.DataFrame,
    pred_drift_current: pd.DataFrame,
    rpt_selected_model_metrics: dict[str, Any],
    rpt_drift_report: dict[str, Any],
    tests: DriftThresholds,
    performance: PerformanceSettings,
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
    _log_alerts(model_alerts(prediction or {}, drop), str(rpt_drift_report["batch"]))
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
        "status_code": _metric(report["status_code"]),
        "retrain_recommended": _metric(report["retrain_recommended"]),
    }
    if report["prediction"]:
        metrics["prediction_psi"] = _metric(report["prediction"]["psi"] or 0.0)
    for name, result in report["performance"]["metrics"].items():
        metrics[name] = _metric(result["current"])
        metrics[f"{name}_relative_drop"] = _metric(result["relative_drop"])
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
        members = apply_set_calibration(proba, model_set_calibration)
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
        key: _metric(value)
        for key, value in (
            ("set_size_reference", sizes["reference"]),
            ("set_size_current", sizes["current"]),
        )
        if value is not None
    }
    logger.info("Mean prediction-set size: reference %s, batch %s", *sizes.values())
    return report, metrics
