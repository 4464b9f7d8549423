"""The drift_monitoring pipelines: their contracts, and runs on in-memory catalogs."""

from __future__ import annotations

import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from student_performance.batch.reader import RawBatchDataset
from student_performance.batch.settings import EngineParams
from student_performance.drift.settings import (
    DriftBatchParams,
    DriftReadingParams,
    DriftTestsParams,
    PerformanceParams,
)
from student_performance.pipelines.drift_monitoring import (
    create_model_drift_pipeline,
    create_pipeline,
)
from tests.conftest import as_raw, tiny_typed
from tests.scoring.conftest import write_messy_copies

PARAMS = {
    "params:random_seed": 42,
    "params:drift_monitoring.tests": DriftTestsParams(
        min_rows=20, monte_carlo_samples=499
    ),
    "params:drift_monitoring.performance": PerformanceParams(bootstrap_samples=200),
    "params:drift_monitoring.reading": DriftReadingParams(),
    "params:drift_monitoring.engine": EngineParams(),
}
REPORTS = {
    "rpt_drift_report",
    "rpt_drift_html",
    "rpt_drift_metrics",
    "rpt_drift_gauges",
}


def test_contract():
    pipeline = create_pipeline()
    assert pipeline.inputs() == {
        "prm_students",
        "raw_drift_batch",
        "params:dataset",
        "params:random_seed",
        "params:drift_monitoring.batch",
        "params:drift_monitoring.reading",
        "params:drift_monitoring.engine",
        "params:drift_monitoring.tests",
    }
    assert {name for name in pipeline.all_outputs() if "." not in name} == REPORTS
    # The JSON report also feeds the HTML page and the metrics; the typed rows are
    # the model part's (drift is measured on the profiles).
    assert pipeline.outputs() == REPORTS - {"rpt_drift_report"} | {
        "drift_monitoring.int_current_batch"
    }
    assert {n.name for n in pipeline.nodes} == {
        "drift_monitoring.profile_current_batch",
        "drift_monitoring.detect_batch_drift",
        "drift_monitoring.render_drift_report",
        "drift_monitoring.collect_drift_metrics",
        "drift_monitoring.collect_drift_gauges",
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
        "rpt_model_drift_gauges",
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
        "params:drift_monitoring.batch": DriftBatchParams(path=path),
        **PARAMS,
        **extra,
    }
    return DataCatalog({name: MemoryDataset(value) for name, value in datasets.items()})


def test_sliced_run_to_the_report(tiny_schema):
    reference = tiny_typed(tiny_schema, 300, seed=1)
    batch = as_raw(tiny_typed(tiny_schema, 100, seed=2, hours_shift=4.0))
    pipeline = create_pipeline().to_outputs("rpt_drift_report")
    assert {n.name for n in pipeline.nodes} == {
        "drift_monitoring.profile_current_batch",
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
    assert "hours: distribution changed" in outputs["rpt_drift_html"].load()
    gauges = outputs["rpt_drift_gauges"].load()
    assert gauges["batch"] == "shifted.csv"
    assert gauges["status_code"]["value"] == 2.0
    assert gauges["retrain_recommended"]["value"] == 1.0


def _model_part_catalog(reference, raw_batch, schema, fitted_model, **extra):
    return _catalog(
        reference,
        raw_batch,
        schema,
        "labelled.csv",
        model_selected=fitted_model,
        model_set_calibration={
            "level": 0.9,
            "contiguous": True,
            "thresholds": [0.8] * 4,
        },
        rpt_selected_model_metrics={
            "model": "test",
            "cv": {"accuracy": 0.5, "f1_macro": 0.45},
            "holdout": {"accuracy": 0.5, "f1_macro": 0.45},
        },
        **extra,
    )


def _run_model_part(catalog: DataCatalog) -> dict:
    together = create_pipeline() + create_model_drift_pipeline()
    # without the gauges node, so that the report stays a free output to look at
    pipeline = together.only_nodes(
        *(n.name for n in together.nodes if "model_drift_gauges" not in n.name)
    )
    return SequentialRunner().run(pipeline, catalog)


def test_run_with_the_model_part(primary_table, dataset_schema, fitted_model):
    batch = as_raw(primary_table.sample(200, random_state=5))
    outputs = _run_model_part(
        _model_part_catalog(primary_table, batch, dataset_schema, fitted_model)
    )
    report = outputs["rpt_model_drift_report"].load()
    assert report["predicted_rows"] == 200 and not report["predicted_rows_sampled"]
    assert report["input"]["status"] == "ok"
    assert report["prediction"]["column"] == "prediction"
    assert report["performance"]["labelled_rows"] == 200
    assert set(report["performance"]["metrics"]) == {"accuracy", "f1_macro"}
    assert report["status"] == "ok" and not report["retrain_recommended"]
    assert "accuracy_relative_drop" in outputs["rpt_model_drift_metrics"].load()
    sets = outputs["rpt_set_size_drift"].load()
    assert 1 <= sets["reference_mean_set_size"] <= 4
    assert sets["current_rows"] == 200
    assert sets["change"] == pytest.approx(
        sets["current_mean_set_size"] - sets["reference_mean_set_size"]
    )
    assert "set_size_current" in outputs["rpt_set_size_drift_metrics"].load()


def test_a_large_lazy_batch_gives_the_model_part_a_bounded_sample(
    tmp_path, messy_file, primary_table, dataset_schema, fitted_model
):
    path = write_messy_copies(messy_file, tmp_path / "batch.csv", 3)
    catalog = _model_part_catalog(
        primary_table,
        RawBatchDataset(path=str(path)).load(),
        dataset_schema,
        fitted_model,
        **{
            "params:drift_monitoring.reading": DriftReadingParams(
                chunk_rows=400, model_rows=300
            )
        },
    )
    outputs = _run_model_part(catalog)
    report = outputs["rpt_model_drift_report"].load()
    assert report["rows"] == 3 * 679 + 1  # every well-formed record is profiled
    assert report["predicted_rows_sampled"] is True
    assert 240 < report["predicted_rows"] <= 300
    assert report["performance"]["labelled_rows"] <= report["predicted_rows"]
    sets = outputs["rpt_set_size_drift"].load()
    assert sets["current_rows"] == report["predicted_rows"]
