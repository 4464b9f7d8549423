"""The drift_monitoring pipelines: their contracts, and runs on in-memory catalogs."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from student_performance.drift.settings import (
    BatchSettings,
    DriftThresholds,
    PerformanceSettings,
    SimulationSettings,
)
from student_performance.pipelines.drift_monitoring import (
    create_model_drift_pipeline,
    create_pipeline,
)

from .conftest import as_raw, tiny_typed

PARAMS = {
    "params:random_seed": 42,
    "params:drift_monitoring.tests": DriftThresholds(
        min_rows=20, monte_carlo_samples=499
    ),
    "params:drift_monitoring.simulations": SimulationSettings(
        intensities=(0.0, 1.0), repeats=2, batch_size=100
    ),
    "params:drift_monitoring.performance": PerformanceSettings(bootstrap_samples=200),
}
REPORTS = {
    "rpt_drift_report",
    "rpt_drift_html",
    "rpt_drift_simulations",
    "rpt_drift_detection",
    "rpt_drift_metrics",
    "rpt_drift_simulated_batches",
}


def test_contract():
    pipeline = create_pipeline()
    assert pipeline.inputs() == {
        "prm_students",
        "raw_drift_batch",
        "params:dataset",
        "params:random_seed",
        "params:drift_monitoring.batch",
        "params:drift_monitoring.tests",
        "params:drift_monitoring.simulations",
    }
    assert {name for name in pipeline.all_outputs() if "." not in name} == REPORTS
    # The JSON reports also feed the HTML page and the metrics.
    assert pipeline.outputs() == REPORTS - {"rpt_drift_report", "rpt_drift_simulations"}
    assert {n.name for n in pipeline.nodes} == {
        "drift_monitoring.clean_current_batch",
        "drift_monitoring.detect_batch_drift",
        "drift_monitoring.simulate_drift",
        "drift_monitoring.render_drift_report",
        "drift_monitoring.collect_drift_metrics",
    }


def test_model_contract():
    model_part = create_model_drift_pipeline()
    assert model_part.inputs() == {
        "model_selected",
        "model_set_calibration",
        "prm_students",
        "rpt_selected_model_metrics",
        "rpt_drift_report",
        "drift_monitoring.int_current_batch",
        "params:dataset",
        "params:random_seed",
        "params:drift_monitoring.tests",
        "params:drift_monitoring.performance",
    }
    assert {n for n in model_part.all_outputs() if "." not in n} == {
        "pred_drift_reference",
        "pred_drift_current",
        "rpt_model_drift_report",
        "rpt_model_drift_metrics",
        "rpt_set_size_drift",
        "rpt_set_size_drift_metrics",
    }
    together = create_pipeline() + model_part
    assert "drift_monitoring.int_current_batch" not in together.inputs()
    assert together.inputs() >= {"model_selected", "rpt_selected_model_metrics"}


def _catalog(reference, raw_batch, schema, path, **extra) -> DataCatalog:
    datasets = {
        "prm_students": reference,
        "raw_drift_batch": raw_batch,
        "params:dataset": schema,
        "params:drift_monitoring.batch": BatchSettings(path=path),
        **PARAMS,
        **extra,
    }
    return DataCatalog({name: MemoryDataset(value) for name, value in datasets.items()})


def test_sliced_run_to_the_report(tiny_schema):
    reference = tiny_typed(tiny_schema, 300, seed=1)
    batch = as_raw(tiny_typed(tiny_schema, 100, seed=2, hours_shift=4.0))
    pipeline = create_pipeline().to_outputs("rpt_drift_report")
    assert {n.name for n in pipeline.nodes} == {
        "drift_monitoring.clean_current_batch",
        "drift_monitoring.detect_batch_drift",
    }
    outputs = SequentialRunner().run(
        pipeline, _catalog(reference, batch, tiny_schema, "shifted.csv")
    )
    report = outputs["rpt_drift_report"].load()
    assert report["status"] == "drift" and report["retrain_recommended"]
    assert report["batch"] == "shifted.csv" and report["reference_rows"] == 300
    hours = next(c for c in report["columns"] if c["column"] == "hours")
    assert hours["level"] == "drift"


def test_run_with_a_shifted_batch(tiny_schema):
    reference = tiny_typed(tiny_schema, 300, seed=1)
    batch = as_raw(tiny_typed(tiny_schema, 100, seed=2, hours_shift=4.0))
    outputs = SequentialRunner().run(
        create_pipeline(), _catalog(reference, batch, tiny_schema, "shifted.csv")
    )
    metrics = outputs["rpt_drift_metrics"].load()
    assert metrics["status_code"] == {"value": 2.0, "step": 0}
    assert metrics["retrain_recommended"] == {"value": 1.0, "step": 0}
    assert outputs["rpt_drift_detection"].load().empty  # no simulations with a batch
    assert outputs["rpt_drift_simulated_batches"].load() == {}
    assert "hours: distribution changed" in outputs["rpt_drift_html"].load()


def test_run_without_a_batch_simulates(tiny_schema):
    """The invented schema has a numeric feature: shifted in standard deviations."""
    reference = tiny_typed(tiny_schema, 300, seed=1)
    outputs = SequentialRunner().run(
        create_pipeline(), _catalog(reference, pd.DataFrame(), tiny_schema, None)
    )
    table = outputs["rpt_drift_detection"].load()
    assert set(table["kind"]) == set(SimulationSettings().kinds)
    assert table.loc[table["intensity"] == 0.0, "drift"].eq(0.0).all()
    assert table.loc[table["intensity"] == 1.0, "detected"].eq(1.0).all()
    metrics = outputs["rpt_drift_metrics"].load()
    assert metrics["status_code"] == {"value": -2.0, "step": 0}
    assert [m["step"] for m in metrics["simulation.combined.detected"]] == [0, 100]
    assert set(outputs["rpt_drift_simulated_batches"].load()) == set(table["kind"])
    assert "Simulated feature_shift" in outputs["rpt_drift_html"].load()


def test_run_with_the_model_part(primary_table, dataset_schema, fitted_model):
    batch = as_raw(primary_table.sample(200, random_state=5))
    catalog = _catalog(
        primary_table,
        batch,
        dataset_schema,
        "labelled.csv",
        model_selected=fitted_model,
        model_set_calibration={
            "level": 0.9,
            "contiguous": True,
            "thresholds": [0.8] * 4,
        },
        rpt_selected_model_metrics={
            "model": "test",
            "cv": {"accuracy": 0.5, "macro_f1": 0.45},
            "holdout": {"accuracy": 0.5, "macro_f1": 0.45},
        },
    )
    outputs = SequentialRunner().run(
        create_pipeline() + create_model_drift_pipeline(), catalog
    )
    report = outputs["rpt_model_drift_report"].load()
    assert report["input"]["status"] == "ok"
    assert report["prediction"]["column"] == "prediction"
    assert report["performance"]["labelled_rows"] == 200
    assert set(report["performance"]["metrics"]) == {"accuracy", "macro_f1"}
    assert report["status"] == "ok" and not report["retrain_recommended"]
    assert "accuracy_relative_drop" in outputs["rpt_model_drift_metrics"].load()
    sets = outputs["rpt_set_size_drift"].load()
    assert 1 <= sets["reference_mean_set_size"] <= 4
    assert sets["current_rows"] == 200
    assert sets["change"] == pytest.approx(
        sets["current_mean_set_size"] - sets["reference_mean_set_size"]
    )
    assert "set_size_current" in outputs["rpt_set_size_drift_metrics"].load()
