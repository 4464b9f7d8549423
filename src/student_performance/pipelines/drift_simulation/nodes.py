"""Nodes of the drift_simulation pipeline: seeded batches drifted on purpose, judged
by drift_monitoring's checks, summarised as detection rates.

Thin wrappers of ``student_performance.drift.simulate`` and ``drift.html``. Simulated
batches are summarised in one INFO line, never alerted on.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from student_performance.drift.html import render_simulation_html
from student_performance.drift.settings import DriftTestsParams, SimulationParams
from student_performance.drift.simulate import detection_rates, showcase
from student_performance.schema import DatasetSchema

logger = logging.getLogger(__name__)


def simulate_drift(
    prm_students: pd.DataFrame,
    dataset: DatasetSchema,
    tests: DriftTestsParams,
    simulations: SimulationParams,
    random_seed: int,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, pd.DataFrame]]:
    """Simulate each kind of drift at several intensities and measure detection.

    Args:
        prm_students: The reference, also the rows simulated batches are drawn from.
        dataset: The schema.
        tests: drift_monitoring's thresholds, as for a real batch.
        simulations: Kinds, intensities, repeats, batch size (``SimulationParams``).
        random_seed: Seed of every simulation.

    Returns:
        The detection table (one row per kind and intensity), a JSON-able summary
        (``dataset``, ``settings``, ``detection``, ``showcase``: one full report per
        kind at the showcase intensity) and the showcase batches as raw text, by kind.
    """
    options = {"dataset": dataset, "thresholds": tests, "settings": simulations}
    table = detection_rates(prm_students, **options, seed=random_seed)
    batches, reports = showcase(prm_students, **options, seed=random_seed)
    summary = {
        "dataset": dataset.name,
        "settings": simulations.model_dump(mode="json"),
        "detection": table.to_dict(orient="records"),
        "showcase": reports,
    }
    at_showcase = table[np.isclose(table["intensity"], simulations.showcase_intensity)]
    logger.info(
        "Simulated %d batches of %d rows; detected at intensity %s: %s",
        len(table) * simulations.repeats,
        simulations.batch_size,
        simulations.showcase_intensity,
        dict(zip(at_showcase["kind"], at_showcase["detected"], strict=True)),
    )
    return table, summary, batches


def render_simulation_report(rpt_drift_simulations: dict[str, Any]) -> str:
    """The simulations as a self-contained HTML page (plotly.js inline).

    Args:
        rpt_drift_simulations: Second output of ``simulate_drift``.

    Returns:
        A complete HTML document.
    """
    page = render_simulation_html(rpt_drift_simulations)
    logger.info("Drift simulation HTML report: %.1f MB", len(page) / 1e6)
    return page


def collect_simulation_metrics(
    rpt_drift_simulations: dict[str, Any],
) -> dict[str, list[dict[str, float | int]]]:
    """Detection rates as MLflow metric histories (``{"name": [{"value", "step"}]}``).

    Args:
        rpt_drift_simulations: Second output of ``simulate_drift``.

    Returns:
        Per kind, ``simulation.<kind>.detected`` (share of runs at warning or drift)
        and ``simulation.<kind>.drift``, one step per intensity (intensity x 100).
    """
    metrics: dict[str, list[dict[str, float | int]]] = {}
    for row in rpt_drift_simulations["detection"]:
        step = round(row["intensity"] * 100)
        for measure in ("detected", "drift"):
            name = f"simulation.{row['kind']}.{measure}"
            metrics.setdefault(name, []).append(
                {"value": float(row[measure]), "step": step}
            )
    logger.info("Drift simulation metrics: %d names", len(metrics))
    return metrics
