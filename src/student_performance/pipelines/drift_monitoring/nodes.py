"""Nodes of the drift_monitoring pipeline: is the current batch still like the data the
champion was trained on, and what should be done about it?

Thin wrappers: the statistics and rendering are pure functions in
``student_performance.drift``. Nodes log one INFO line each and one WARNING per alert.
The model's side (predictions, performance, prediction sets) is ``model_nodes``; the
seeded simulations are the ``drift_simulation`` pipeline.
"""

from __future__ import annotations

import logging
from pathlib import PurePath
from typing import Any

import pandas as pd

from student_performance.batch.cluster import engine_client, worker_count
from student_performance.batch.reader import RawBatch
from student_performance.batch.settings import EngineParams
from student_performance.drift.detect import compare_profiles, profile_frame
from student_performance.drift.html import render_html
from student_performance.drift.pieces import (
    WORKER_MODULES,
    BatchProfile,
    profile_batch,
    profile_rows,
)
from student_performance.drift.settings import (
    DriftBatchParams,
    DriftReadingParams,
    DriftTestsParams,
)
from student_performance.models.metrics import metric_name
from student_performance.schema import DatasetSchema

logger = logging.getLogger(__name__)


def log_alerts(alerts: list[dict[str, Any]], source: str) -> None:
    """One WARNING line per alert (input and model drift alike)."""
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


def _log_profile(
    profile: BatchProfile,
    summary: dict[str, Any],
    batch: DriftBatchParams,
    dataset: DatasetSchema,
) -> None:
    """One INFO line: what the batch holds and how it was read."""
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


def profile_current_batch(
    raw_drift_batch: pd.DataFrame | RawBatch,
    dataset: DatasetSchema,
    batch: DriftBatchParams,
    reading: DriftReadingParams,
    engine: EngineParams,
    random_seed: int,
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Clean, type and profile the current batch exactly as training data is cleaned.

    A lazy batch (``batch.RawBatch``: a file, glob or folder) is profiled piece by
    piece here (``engine.name: pandas``) or on the engine's Dask cluster (``dask``);
    the counts add up to the whole batch's (``drift.pieces``). A frame (``--env
    served``: the prediction log) is profiled whole, here.

    Args:
        raw_drift_batch: Raw rows, every cell as text, or a ``RawBatch``: all feature
            columns, the target optionally (then performance can be measured); other
            columns follow the schema's ``unknown_columns`` policy.
        dataset: The schema.
        batch: ``path``: the batch given at run time (its name in the report).
        reading: A lazy batch's ``chunk_rows`` and the model part's ``model_rows``.
        engine: Where a lazy batch's pieces are profiled (``batch.cluster``).
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
        with engine_client(engine, WORKER_MODULES) as client:
            profile = profile_batch(
                raw_drift_batch,
                dataset,
                reading.chunk_rows,
                client,
                max_rows=reading.model_rows,
                seed=random_seed,
            )
            summary = _reading_summary(profile, engine.name, worker_count(client))
    _log_profile(profile, summary, batch, dataset)
    current = {"profiles": profile.profiles, "reading": summary}
    return current, profile.sample, profile.unseen


def detect_batch_drift(  # noqa: PLR0917 - a node: Kedro passes its inputs by position
    prm_students: pd.DataFrame,
    int_current_profile: dict[str, Any],
    int_unseen_values: pd.DataFrame,
    dataset: DatasetSchema,
    tests: DriftTestsParams,
    batch: DriftBatchParams,
    random_seed: int,
) -> dict[str, Any]:
    """Compare the batch with the reference, column by column, and give a verdict.

    Args:
        prm_students: The reference: the primary table the champion was trained on.
        int_current_profile: ``profile_current_batch``'s first output.
        int_unseen_values: Its third output.
        dataset: The schema.
        tests: Tests, effect-size gates and alert levels (``DriftTestsParams``).
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
    log_alerts(report["alerts"], batch.path)
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


def as_metric(value: float, step: int = 0) -> dict[str, float | int]:
    """One MLflow metric entry (``MlflowMetricsHistoryDataset``'s shape)."""
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
        "status_code": as_metric(report["status_code"]),
        "retrain_recommended": as_metric(report["retrain_recommended"]),
        "rows": as_metric(report["rows"]),
    }
    if columns:
        metrics |= {
            "columns_flagged": as_metric(sum(c["flagged"] for c in columns)),
            "columns_drifted": as_metric(sum(c["level"] == "drift" for c in columns)),
            "max_psi": as_metric(max(c["psi"] or 0.0 for c in columns)),
        } | {
            f"psi.{metric_name(c['column'])}": as_metric(c["psi"] or 0.0)
            for c in columns
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
