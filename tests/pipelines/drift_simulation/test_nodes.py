"""Nodes of drift_simulation: seeded batches, detection table, report and metrics."""

from __future__ import annotations

import json
import re

import pandas as pd

from student_performance.drift.settings import DriftTestsParams, SimulationParams
from student_performance.pipelines.drift_simulation.nodes import (
    collect_simulation_metrics,
    render_simulation_report,
    simulate_drift,
)

THRESHOLDS = DriftTestsParams(min_rows=5, monte_carlo_samples=499)
SMALL = SimulationParams(intensities=(0.0, 1.0), repeats=1, batch_size=120)
MLFLOW_NAME = re.compile(r"^[A-Za-z0-9_\-.]+$")


def test_simulate_drift_table_reports_and_raw_batches(primary_table, dataset_schema):
    before = primary_table.copy()

    table, summary, batches = simulate_drift(
        primary_table, dataset_schema, THRESHOLDS, SMALL, 42
    )

    pd.testing.assert_frame_equal(primary_table, before)
    assert len(table) == len(SMALL.kinds) * 2
    assert (table["runs"] == 1).all()
    assert table.loc[table["intensity"] == 1.0, "detected"].eq(1.0).all()
    assert set(summary["showcase"]) == set(batches) == set(SMALL.kinds)
    assert summary["dataset"] == dataset_schema.name
    assert summary["showcase"]["missing_values"]["simulation"]["missing_values"]
    for raw in batches.values():
        assert len(raw) == 120
        assert all(str(dtype) == "string" for dtype in raw.dtypes)
    json.dumps(summary, allow_nan=False)


def test_simulate_drift_is_seeded(primary_table, dataset_schema):
    settings = SimulationParams(
        kinds=("feature_shift",), intensities=(0.5,), repeats=1, batch_size=120
    )

    def run(seed: int):
        return simulate_drift(primary_table, dataset_schema, THRESHOLDS, settings, seed)

    first, again, other = run(1), run(1), run(2)

    pd.testing.assert_frame_equal(first[0], again[0])
    pd.testing.assert_frame_equal(first[2]["feature_shift"], again[2]["feature_shift"])
    assert not first[2]["feature_shift"].equals(other[2]["feature_shift"])


SUMMARY = {
    "dataset": "tiny",
    "showcase": {},
    "detection": [
        {
            "kind": "feature_shift",
            "intensity": i,
            "runs": 2,
            "ok": 1 - d,
            "warning": 0.0,
            "drift": d,
            "detected": d,
            "retrain": d,
            "mean_max_psi": d,
        }
        for i, d in ((0.0, 0.0), (0.5, 1.0))
    ],
}


def test_collect_simulation_metrics_one_step_per_intensity():
    metrics = collect_simulation_metrics(SUMMARY)

    assert metrics["simulation.feature_shift.detected"] == [
        {"value": 0.0, "step": 0},
        {"value": 1.0, "step": 50},
    ]
    assert set(metrics) == {
        "simulation.feature_shift.detected",
        "simulation.feature_shift.drift",
    }
    assert all(MLFLOW_NAME.match(name) for name in metrics)


def test_render_simulation_report_is_self_contained():
    page = render_simulation_report(SUMMARY)

    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]*\bsrc=", page)  # nothing fetched: all inline
    assert page.count("Plotly.newPlot") == 1  # the detection chart
    assert "Drift simulations: tiny" in page
