"""Nodes of the drift_monitoring pipeline: is the current batch still like the data the
champion was trained on, and what should be done about it?

Thin wrappers: the statistics, simulations and rendering are pure functions in
``student_performance.drift``. Nodes log one INFO line each and one WARNING per alert on
a real batch (simulated batches are summarised, never alerted on).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
import pandas as pd

from student_performance.core.conformal import apply_set_calibration
from student_performance.drift.batch import clean_batch, empty_batch, empty_unseen
from student_performance.drift.detect import (
    compare_profiles,
    not_assessed,
    profile_frame,
)
from student_performance.drift.html import render_html
from student_performance.drift.model import (
    combine_with_inputs,
    model_alerts,
    performance_drop,
    predict_frame,
    prediction_drift,
)
from student_performance.drift.settings import (
    BatchSettings,
    DriftThresholds,
    PerformanceSettings,
    SimulationSettings,
)
from student_performance.drift.simulate import detection_rates, showcase
from student_performance.schema import DatasetSchema

logger = logging.getLogger(__name__)

NO_BATCH = (
    "no batch given: run with --params drift_batch=<path/to/batch.csv> to check one; "
    "the simulations ran instead"
)


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


def clean_current_batch(
    raw_drift_batch: pd.DataFrame, dataset: DatasetSchema, batch: BatchSettings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clean and type the current batch exactly as training data is cleaned.

    Args:
        raw_drift_batch: Raw rows, every cell as text: all feature columns, the target
            optionally (then performance can be measured); other columns follow the
            schema's ``unknown_columns`` policy.
        dataset: The schema.
        batch: ``path``: the batch file given at run time; ``None`` means no batch (the
            loaded rows are then ignored and an empty batch is returned).

    Returns:
        The typed batch (target first when present, then the features) and the values
        the schema does not allow (``column``, ``value``, ``count``), NA in the batch.

    Raises:
        RawDataError: Feature columns missing (named in the message, with the columns
            found), or unknown columns under ``unknown_columns: error``.
    """
    if batch.path is None:
        logger.info("No current batch: %s", NO_BATCH)
        return empty_batch(dataset), empty_unseen()
    typed, unseen = clean_batch(raw_drift_batch, dataset)
    logger.info(
        "Current batch %s: %d rows, target %s, %d values not allowed by the schema",
        batch.path,
        len(typed),
        "present" if dataset.target.name in typed.columns else "absent",
        int(unseen["count"].sum()),
    )
    return typed, unseen


def detect_batch_drift(  # noqa: PLR0917 - a node: Kedro passes its inputs by position
    prm_students: pd.DataFrame,
    int_current_batch: pd.DataFrame,
    int_unseen_values: pd.DataFrame,
    dataset: DatasetSchema,
    tests: DriftThresholds,
    batch: BatchSettings,
    random_seed: int,
) -> dict[str, Any]:
    """Compare the batch with the reference, column by column, and give a verdict.

    Args:
        prm_students: The reference: the primary table the champion was trained on.
        int_current_batch: Output of ``clean_current_batch``.
        int_unseen_values: Its second output.
        dataset: The schema.
        tests: Tests, effect-size gates and alert levels (``DriftThresholds``).
        batch: ``path`` of the batch (``None``: status ``no_batch``).
        random_seed: Seed of the Monte-Carlo p-values.

    Returns:
        The drift report: ``status`` (``ok`` / ``warning`` / ``drift`` /
        ``insufficient_data`` / ``no_batch``), ``retrain_recommended``, ``action``,
        ``reasons``, ``alerts`` and one entry per column (test, statistic, p, adjusted
        p, PSI, JS, missing-share change, unseen values, level, reason).
    """
    if batch.path is None:
        report = not_assessed("no_batch", 0, NO_BATCH)
    else:
        report = compare_profiles(
            profile_frame(prm_students, dataset),
            profile_frame(int_current_batch, dataset),
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
        **report,
    }
    logger.info(
        "Drift on %s: %s (%d alerts), retrain recommended: %s",
        batch.path or "no batch",
        report["status"],
        len(report["alerts"]),
        report["retrain_recommended"],
    )
    return report


def simulate_drift(  # noqa: PLR0917 - a node: Kedro passes its inputs by position
    prm_students: pd.DataFrame,
    dataset: DatasetSchema,
    tests: DriftThresholds,
    simulations: SimulationSettings,
    batch: BatchSettings,
    random_seed: int,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, pd.DataFrame]]:
    """Simulate each kind of drift at several intensities and measure detection.

    Runs only when no batch is given (``batch.path`` is ``None``); otherwise returns
    empty outputs.

    Args:
        prm_students: The reference, also the rows simulated batches are drawn from.
        dataset: The schema.
        tests: The same thresholds as for a real batch.
        simulations: Kinds, intensities, repeats, batch size (``SimulationSettings``).
        batch: ``path`` of the real batch, if any.
        random_seed: Seed of every simulation.

    Returns:
        The detection table (one row per kind and intensity), a JSON-able summary
        (``ran``, ``settings``, ``detection``, ``showcase``: one full report per kind at
        the showcase intensity) and the showcase batches as raw text, by kind.
    """
    if batch.path is not None:
        logger.info("Simulations skipped: a batch was given (%s)", batch.path)
        return pd.DataFrame(), {"ran": False, "detection": [], "showcase": {}}, {}
    options = {"dataset": dataset, "thresholds": tests, "settings": simulations}
    table = detection_rates(prm_students, **options, seed=random_seed)
    batches, reports = showcase(prm_students, **options, seed=random_seed)
    summary = {
        "ran": True,
        "settings": simulations.model_dump(mode="json"),
        "detection": table.to_dict(orient="records"),
        "showcase": reports,
    }
    at_half = table[np.isclose(table["intensity"], simulations.showcase_intensity)]
    logger.info(
        "Simulated %d batches of %d rows; detected at intensity %s: %s",
        len(table) * simulations.repeats,
        simulations.batch_size,
        simulations.showcase_intensity,
        dict(zip(at_half["kind"], at_half["detected"], strict=True)),
    )
    return table, summary, batches


def render_drift_report(
    rpt_drift_report: dict[str, Any], rpt_drift_simulations: dict[str, Any]
) -> str:
    """The drift report as a self-contained HTML page (plotly.js inline).

    Args:
        rpt_drift_report: Output of ``detect_batch_drift``.
        rpt_drift_simulations: Second output of ``simulate_drift``.

    Returns:
        A complete HTML document.
    """
    page = render_html(rpt_drift_report, rpt_drift_simulations)
    logger.info("Drift HTML report: %.1f MB", len(page) / 1e6)
    return page


_METRIC_NAME = re.compile(r"[^\w\-./ ]")


def _metric(value: float, step: int = 0) -> dict[str, float | int]:
    return {"value": float(value), "step": step}


def collect_drift_metrics(
    rpt_drift_report: dict[str, Any], rpt_drift_simulations: dict[str, Any]
) -> dict[str, Any]:
    """The key figures as MLflow metrics (``{"name": {"value": v, "step": s}}``).

    Args:
        rpt_drift_report: Output of ``detect_batch_drift``.
        rpt_drift_simulations: Second output of ``simulate_drift``.

    Returns:
        ``status_code`` (-2 no batch, -1 insufficient data, 0 ok, 1 warning, 2 drift),
        ``retrain_recommended``, ``rows``, ``columns_flagged``, ``columns_drifted``,
        ``max_psi``, ``psi.<column>``; when simulations ran, per kind the share of runs
        ``detected`` and in ``drift``, one step per intensity (step = intensity x 100).
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
            _METRIC_NAME.sub("_", f"psi.{c['column']}"): _metric(c["psi"] or 0.0)
            for c in columns
        }
    for row in rpt_drift_simulations["detection"]:
        step = round(row["intensity"] * 100)
        for measure in ("detected", "drift"):
            name = _METRIC_NAME.sub("_", f"simulation.{row['kind']}.{measure}")
            metrics.setdefault(name, []).append(_metric(row[measure], step))
    logger.info("Drift metrics: %d names", len(metrics))
    return metrics


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
        int_current_batch: The typed batch (may be empty: no batch).
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
            "holdout": {...}}`` with ``accuracy`` and ``macro_f1``.
        rpt_drift_report: The input drift report (``detect_batch_drift``).
        tests: Thresholds (alpha, PSI levels, ``min_rows``, ``retrain_on``).
        performance: Metrics, reference block, allowed relative drop, bootstrap size.
        dataset: The schema.
        random_seed: Seed of the Monte-Carlo p-value and the bootstrap.

    Returns:
        The model drift report (overall ``status``, ``retrain_recommended``,
        ``action``, ``reasons``, and the ``input``, ``prediction``, ``performance``
        parts) and its key figures as MLflow metrics.
    """
    rng = np.random.default_rng(random_seed)
    assessable = rpt_drift_report["status"] not in {"no_batch", "insufficient_data"}
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
        int_current_batch: The typed batch (may be empty).
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
        f"{key}": {"value": value, "step": 0}
        for key, value in (
            ("set_size_reference", sizes["reference"]),
            ("set_size_current", sizes["current"]),
        )
        if value is not None
    }
    logger.info("Mean prediction-set size: reference %s, batch %s", *sizes.values())
    return report, metrics
