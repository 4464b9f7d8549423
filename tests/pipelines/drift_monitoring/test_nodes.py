"""Unit tests of the drift_monitoring nodes, on small inline or seeded frames."""

from __future__ import annotations

import copy
import json
import logging
import re

import numpy as np
import pandas as pd
import pytest

from student_performance.batch.reader import RawBatchDataset
from student_performance.batch.settings import EngineParams
from student_performance.datasets import RawCSVDataset, RawDataError
from student_performance.drift.prediction_drift import (
    performance_drop,
    predicted_classes,
)
from student_performance.drift.settings import (
    DriftBatchParams,
    DriftReadingParams,
    PerformanceParams,
)
from student_performance.pipelines.drift_monitoring.model_nodes import (
    detect_model_drift,
    predict_for_drift,
)
from student_performance.pipelines.drift_monitoring.nodes import (
    collect_drift_gauges,
    collect_drift_metrics,
    detect_batch_drift,
    profile_current_batch,
    render_drift_report,
)
from tests.conftest import as_raw, tiny_typed
from tests.scoring.conftest import write_messy_copies

BATCH = DriftBatchParams(path="batch.csv")
MLFLOW_NAME = re.compile(r"^[A-Za-z0-9_\-.]+$")


def _profile(raw, schema, batch=BATCH, reading=DriftReadingParams()):
    """``profile_current_batch`` in this process (the pandas engine)."""
    return profile_current_batch(raw, schema, batch, reading, EngineParams(), 0)


def _clean(raw, schema, batch=BATCH):
    """The typed rows and unseen values ``profile_current_batch`` gives of a frame."""
    _, typed, unseen = _profile(raw, schema, batch)
    return typed, unseen


def _drift(reference, current_raw, schema, thresholds, batch=BATCH, seed=0):
    profile, _, unseen = _profile(current_raw, schema, batch)
    return detect_batch_drift(
        reference, profile, unseen, schema, thresholds, batch, seed
    )


# --- profile_current_batch ----------------------------------------------------------


def test_profile_current_batch_cleans_like_training(tiny_raw, tiny_schema):
    typed, unseen = _clean(tiny_raw, tiny_schema, BATCH)
    assert list(typed.columns) == ["grade", "sport", "level", "hours"]
    assert typed["grade"].tolist()[:2] == ["low", "mid"]
    assert typed["sport"].tolist()[:2] == ["yes", "no"]
    assert list(typed["level"].cat.categories) == ["A1", "A2", "B1"]
    assert typed["level"].cat.ordered
    assert str(typed["hours"].dtype) == "Float64"
    assert typed["hours"].tolist()[:2] == [3.0, 4.5]
    found = {(c, v): n for c, v, n in unseen.itertuples(index=False)}
    assert found == {
        ("grade", "bad"): 1,
        ("sport", "maybe"): 1,
        ("hours", "x"): 1,
        ("hours", "30"): 1,
    }


def test_profile_current_batch_without_target(tiny_raw, tiny_schema):
    typed, _ = _clean(tiny_raw.drop(columns="grade"), tiny_schema, BATCH)
    assert list(typed.columns) == ["sport", "level", "hours"]


def test_profile_current_batch_missing_columns_is_a_clear_error(tiny_raw, tiny_schema):
    with pytest.raises(
        RawDataError, match=r"required columns missing: \['level', 'hours'\]"
    ):
        _clean(tiny_raw.drop(columns=["level", "hours"]), tiny_schema, BATCH)


def test_profile_current_batch_extra_columns_follow_the_schema_policy(
    tiny_raw, tiny_schema, caplog
):
    extra = tiny_raw.assign(surprise="1")
    with caplog.at_level(logging.WARNING):
        typed, _ = _clean(extra, tiny_schema, BATCH)
    assert "surprise" not in typed.columns
    assert "unknown columns dropped: ['surprise']" in caplog.text
    strict = tiny_schema.model_copy(update={"unknown_columns": "error"})
    with pytest.raises(RawDataError, match=r"unknown columns \['surprise'\]"):
        _clean(extra, strict, BATCH)


def test_profile_current_batch_does_not_mutate_its_input(tiny_raw, tiny_schema):
    before = tiny_raw.copy()
    _clean(tiny_raw, tiny_schema, BATCH)
    pd.testing.assert_frame_equal(tiny_raw, before)


def test_a_lazy_batch_gives_the_report_of_the_file_read_whole(
    tmp_path, messy_file, primary_table, dataset_schema, thresholds
):
    path = write_messy_copies(messy_file, tmp_path / "batch.csv", 2)
    reading = DriftReadingParams(chunk_rows=300, model_rows=500)
    whole, every_row, unseen = _profile(
        RawCSVDataset(filepath=str(path)).load(), dataset_schema
    )
    pieces, sample, pieces_unseen = _profile(
        RawBatchDataset(path=str(path)).load(), dataset_schema, reading=reading
    )
    reports = [
        detect_batch_drift(
            primary_table, profile, table, dataset_schema, thresholds, BATCH, 0
        )
        for profile, table in ((whole, unseen), (pieces, pieces_unseen))
    ]
    assert reports[0].pop("reading") == {
        "engine": "pandas",
        "workers": 1,
        "pieces": 1,
        "malformed_records": None,  # left out (and logged) by RawCSVDataset
        "model_rows": 1358,
        "model_rows_sampled": False,
    }
    assert reports[1].pop("reading") == {
        "engine": "pandas",
        "workers": 1,
        "pieces": 5,
        "malformed_records": 2,
        "model_rows": len(sample),
        "model_rows_sampled": True,
    }
    assert reports[0] == reports[1]
    assert len(every_row) == reports[0]["rows"] == 1358
    assert 400 < len(sample) <= 500
    assert list(sample.columns) == list(every_row.columns) == dataset_schema.columns


# --- detect_batch_drift -----------------------------------------------------------


def test_same_distribution_is_ok(tiny_schema, thresholds):
    reference = tiny_typed(tiny_schema, 400, seed=1)
    report = _drift(
        reference, as_raw(tiny_typed(tiny_schema, 200, seed=2)), tiny_schema, thresholds
    )
    assert report["status"] == "ok", report["reasons"]
    assert report["retrain_recommended"] is False
    assert [c["column"] for c in report["columns"]] == tiny_schema.columns
    assert report["columns"][0]["role"] == "target"
    json.dumps(report, allow_nan=False)  # strict JSON: no NaN


def test_numeric_shift_is_drift_with_ks_and_wasserstein(tiny_schema, thresholds):
    reference = tiny_typed(tiny_schema, 400, seed=1)
    shifted = tiny_typed(tiny_schema, 200, seed=2, hours_shift=3.0)
    report = _drift(reference, as_raw(shifted), tiny_schema, thresholds)
    hours = next(c for c in report["columns"] if c["column"] == "hours")
    assert hours["test"] == "ks"
    assert hours["wasserstein"] == pytest.approx(1.5, abs=0.3)
    assert hours["level"] == "drift"
    assert report["status"] == "drift" and report["retrain_recommended"]
    assert any("hours: distribution changed" in r for r in report["reasons"])


def test_ordinal_columns_add_a_rank_test(tiny_schema, thresholds):
    reference = tiny_typed(tiny_schema, 300, seed=1)
    report = _drift(
        reference, as_raw(tiny_typed(tiny_schema, 100, seed=3)), tiny_schema, thresholds
    )
    level = next(c for c in report["columns"] if c["column"] == "level")
    sport = next(c for c in report["columns"] if c["column"] == "sport")
    assert level["test"].endswith("+mann_whitney") and level["rank_p"] is not None
    assert "mann_whitney" not in sport["test"]


@pytest.mark.parametrize("n_rows", [0, 1, 4])
def test_small_or_empty_batch_is_insufficient_data(tiny_schema, thresholds, n_rows):
    reference = tiny_typed(tiny_schema, 100, seed=1)
    current = as_raw(tiny_typed(tiny_schema, 6, seed=2)).head(n_rows)
    report = _drift(reference, current, tiny_schema, thresholds)
    assert report["status"] == "insufficient_data"
    assert report["retrain_recommended"] is False
    assert report["columns"] == [] and report["rows"] == n_rows


def test_constant_column_is_no_error_and_no_alert(tiny_schema, thresholds):
    reference = tiny_typed(tiny_schema, 100, seed=1).assign(sport="yes", hours=5.0)
    reference["sport"] = reference["sport"].astype(pd.CategoricalDtype(["yes", "no"]))
    current = tiny_typed(tiny_schema, 60, seed=2).assign(sport="yes", hours=5.0)
    report = _drift(reference, as_raw(current), tiny_schema, thresholds)
    columns = {c["column"]: c for c in report["columns"]}
    assert columns["sport"]["p_value"] == 1.0 and columns["sport"]["level"] == "ok"
    assert columns["hours"]["psi"] == 0.0 and columns["hours"]["level"] == "ok"


def test_constant_numeric_column_that_moves_is_drift(tiny_schema, thresholds):
    reference = tiny_typed(tiny_schema, 100, seed=1).assign(hours=5.0)
    current = tiny_typed(tiny_schema, 60, seed=2).assign(hours=7.0)
    report = _drift(reference, as_raw(current), tiny_schema, thresholds)
    hours = next(c for c in report["columns"] if c["column"] == "hours")
    assert hours["level"] == "drift"
    assert hours["current_share"] == {"< 5": 0.0, "= 5": 0.0, "> 5": 1.0}


def test_all_missing_column_is_a_missing_values_alert(tiny_schema, thresholds):
    reference = tiny_typed(tiny_schema, 100, seed=1)
    current = as_raw(tiny_typed(tiny_schema, 60, seed=2)).assign(level=" NaN ")
    report = _drift(reference, current, tiny_schema, thresholds)
    level = next(c for c in report["columns"] if c["column"] == "level")
    assert level["test"] is None and level["p_value"] is None  # nothing to compare
    assert level["psi"] is None and level["js"] is None
    assert level["missing"]["current"] == 1.0
    assert level["level"] == "drift"
    assert report["status"] == "drift"
    assert report["retrain_recommended"] is False  # fix the feed, not the model
    assert report["action"].startswith("fix the data feed")


def test_unseen_categories_are_counted_and_alerted(tiny_schema, thresholds):
    reference = tiny_typed(tiny_schema, 100, seed=1)
    current = as_raw(tiny_typed(tiny_schema, 60, seed=2))
    current.loc[:9, "sport"] = " MAYBE "
    report = _drift(reference, current, tiny_schema, thresholds)
    sport = next(c for c in report["columns"] if c["column"] == "sport")
    assert sport["unseen"]["count"] == 10
    assert sport["unseen"]["share"] == pytest.approx(10 / 60, abs=1e-6)
    assert sport["unseen"]["values"] == sport["unseen"]["not_allowed"] == {"MAYBE": 10}
    assert sport["level"] == "drift"
    # Not allowed is not missing: one alert, from the unseen check.
    assert sport["missing"]["current"] == 0.0
    assert [a["kind"] for a in report["alerts"]] == ["unseen_values"]


def test_allowed_category_absent_from_reference_is_unseen(tiny_schema, thresholds):
    reference = tiny_typed(tiny_schema, 100, seed=1)
    reference = reference[reference["level"] != "B1"]
    current = as_raw(tiny_typed(tiny_schema, 60, seed=2))
    report = _drift(reference, current, tiny_schema, thresholds)
    level = next(c for c in report["columns"] if c["column"] == "level")
    assert (
        set(level["unseen"]["values"]) == set(level["unseen"]["new_in_batch"]) == {"B1"}
    )
    assert level["unseen"]["new_in_batch_p_adjusted"]["B1"] < 0.001
    assert level["level"] == "drift"


def test_a_rare_category_missing_from_a_small_reference_is_not_news(
    tiny_schema, thresholds
):
    """Two B1 rows in the batch, none in an 80-row reference: within chance."""
    reference = tiny_typed(tiny_schema, 100, seed=1)
    reference = reference[reference["level"] != "B1"].head(80)
    current = reference.sample(60, random_state=0).reset_index(drop=True)
    current.loc[[0, 1], "level"] = "B1"
    report = _drift(reference, as_raw(current), tiny_schema, thresholds)
    level = next(c for c in report["columns"] if c["column"] == "level")
    assert level["unseen"]["new_in_batch"] == {"B1": 2}
    assert level["unseen"]["count"] == 0 and level["level"] == "ok"


def test_every_alert_is_a_warning_log_line(tiny_schema, thresholds, caplog):
    reference = tiny_typed(tiny_schema, 400, seed=1)
    current = as_raw(tiny_typed(tiny_schema, 200, seed=2, hours_shift=3.0))
    current.loc[:30, "sport"] = "maybe"
    with caplog.at_level(logging.WARNING):
        report = _drift(reference, current, tiny_schema, thresholds)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(report["alerts"]) >= 2
    assert len(warnings) == len(report["alerts"])


def test_detect_batch_drift_does_not_mutate_inputs(tiny_schema, thresholds):
    reference = tiny_typed(tiny_schema, 100, seed=1)
    profile, _, unseen = _profile(
        as_raw(tiny_typed(tiny_schema, 60, seed=2)), tiny_schema
    )
    before = [reference.copy(), unseen.copy()], copy.deepcopy(profile)
    detect_batch_drift(reference, profile, unseen, tiny_schema, thresholds, BATCH, 0)
    for frame, copy_ in zip([reference, unseen], before[0], strict=True):
        pd.testing.assert_frame_equal(frame, copy_)
    assert profile["reading"] == before[1]["reading"]
    for name, column in profile["profiles"].items():
        np.testing.assert_array_equal(column.counts, before[1]["profiles"][name].counts)


def test_detect_batch_drift_is_reproducible(tiny_schema, thresholds):
    reference = tiny_typed(tiny_schema, 100, seed=1)
    current = as_raw(tiny_typed(tiny_schema, 60, seed=2))
    first = _drift(reference, current, tiny_schema, thresholds, seed=3)
    assert _drift(reference, current, tiny_schema, thresholds, seed=3) == first


# --- render_drift_report and collect_drift_metrics --------------------------------


@pytest.fixture
def shifted_report(tiny_schema, thresholds):
    reference = tiny_typed(tiny_schema, 400, seed=1)
    current = as_raw(tiny_typed(tiny_schema, 200, seed=2, hours_shift=3.0))
    return _drift(reference, current, tiny_schema, thresholds)


def test_render_drift_report_is_self_contained(shifted_report):
    page = render_drift_report(shifted_report)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]*\bsrc=", page)  # nothing fetched: all inline
    assert page.count("Plotly.newPlot") == 2  # PSI ranking + distributions
    assert len(page) > 3_000_000  # plotly.js inlined
    assert "hours: distribution changed" in page
    assert "<b>Read:</b> pandas engine, 1 worker(s), 1 piece(s);" in page


def test_collect_drift_metrics_names_and_shapes(shifted_report):
    metrics = collect_drift_metrics(shifted_report)
    assert metrics["status_code"] == {"value": 2.0, "step": 0}
    assert metrics["retrain_recommended"] == {"value": 1.0, "step": 0}
    assert metrics["psi.hours"]["value"] > 0.25
    assert all(MLFLOW_NAME.match(name) for name in metrics)


def test_metric_names_are_sanitised(dataset_schema, primary_table, thresholds):
    report = _drift(
        primary_table, as_raw(primary_table.head(100)), dataset_schema, thresholds
    )
    metrics = collect_drift_metrics(report)
    # one spelling per feature in MLflow, the same as eda_reporting's metrics
    assert "psi.Class_X_Percentage" in metrics
    assert all(MLFLOW_NAME.match(name) for name in metrics)


# --- the model part ---------------------------------------------------------------


def _champion_metrics(model, frame, schema) -> dict:
    predicted = model.predict(frame[schema.feature_names])
    accuracy = float((predicted == frame[schema.target.name].astype(str)).mean())
    figures = {"accuracy": accuracy, "f1_macro": accuracy}
    return {"model": "test", "cv": figures, "holdout": figures}


def test_predict_for_drift_shapes(fitted_model, primary_table, dataset_schema):
    batch = primary_table.drop(columns=dataset_schema.target.name).head(30)
    before = batch.copy()
    reference, current = predict_for_drift(
        fitted_model, primary_table, batch, dataset_schema
    )
    pd.testing.assert_frame_equal(batch, before)
    assert list(reference.columns) == ["prediction", dataset_schema.target.name]
    assert list(current.columns) == ["prediction"]
    assert list(current["prediction"].cat.categories) == list(
        dataset_schema.target.classes
    )
    assert current.index.equals(batch.index)
    _, empty = predict_for_drift(
        fitted_model, primary_table, batch.head(0), dataset_schema
    )
    assert empty.empty


def _model_report(model, reference, batch, schema, thresholds, seed=0):
    profile, typed, unseen = _profile(as_raw(batch), schema)
    inputs = detect_batch_drift(
        reference, profile, unseen, schema, thresholds, BATCH, seed
    )
    pred_ref, pred_cur = predict_for_drift(model, reference, typed, schema)
    return detect_model_drift(
        pred_ref,
        pred_cur,
        _champion_metrics(model, reference, schema),
        inputs,
        thresholds,
        PerformanceParams(bootstrap_samples=500),
        schema,
        seed,
    )


def test_model_drift_on_a_like_batch_is_ok(
    fitted_model, primary_table, dataset_schema, thresholds
):
    batch = primary_table.sample(300, random_state=1)
    report, metrics = _model_report(
        fitted_model, primary_table, batch, dataset_schema, thresholds
    )
    assert report["prediction"]["level"] == "ok"
    assert report["performance"]["status"] == "assessed"
    assert {m["level"] for m in report["performance"]["metrics"].values()} == {"ok"}
    assert report["status"] in {"ok", "warning"}
    assert set(metrics) >= {
        "status_code",
        "prediction_psi",
        "accuracy",
        "accuracy_relative_drop",
    }


def test_model_drift_flags_a_performance_drop(
    fitted_model, primary_table, dataset_schema, thresholds
):
    """Labels shuffled: inputs and predictions unchanged, accuracy collapses."""
    target = dataset_schema.target.name
    batch = primary_table.sample(300, random_state=2)
    batch[target] = batch[target].sample(frac=1, random_state=3).to_numpy()
    report, _ = _model_report(
        fitted_model, primary_table, batch, dataset_schema, thresholds
    )
    accuracy = report["performance"]["metrics"]["accuracy"]
    assert accuracy["level"] == "drift" and accuracy["relative_drop"] > 0.05
    assert report["status"] == "drift" and report["retrain_recommended"]
    assert any(a["kind"] == "performance_drop" for a in report["alerts"])


def test_model_drift_flags_prediction_drift(
    fitted_model, primary_table, dataset_schema, thresholds
):
    """Only the rows predicted in the top class: the predictions' mix moves."""
    predicted = fitted_model.predict(primary_table[dataset_schema.feature_names])
    batch = primary_table[predicted == "Excellent"]
    batch = batch.drop(columns=dataset_schema.target.name)
    batch = batch.sample(120, replace=True, random_state=0)
    report, _ = _model_report(
        fitted_model, primary_table, batch, dataset_schema, thresholds
    )
    assert report["prediction"]["level"] == "drift"
    assert report["performance"]["status"] == "no_target"
    assert any(a["kind"] == "prediction_drift" for a in report["alerts"])


def test_model_drift_without_an_input_verdict_keeps_its_status(
    fitted_model, primary_table, dataset_schema, thresholds
):
    inputs = {
        "status": "insufficient_data",
        "status_code": -1,
        "retrain_recommended": False,
        "action": "x",
        "reasons": [],
        "alerts": [],
        "rows": 0,
        "columns": [],
        "batch": "empty.csv",
        "reading": {"model_rows": 0, "model_rows_sampled": False},
    }
    pred_ref, pred_cur = predict_for_drift(
        fitted_model, primary_table, primary_table.head(0), dataset_schema
    )
    report, metrics = detect_model_drift(
        pred_ref,
        pred_cur,
        {"cv": {}, "holdout": {}},
        copy.deepcopy(inputs),
        thresholds,
        PerformanceParams(),
        dataset_schema,
        0,
    )
    assert report["status"] == "insufficient_data" and report["prediction"] is None
    assert metrics["status_code"] == {"value": -1.0, "step": 0}


def test_performance_reads_the_modelling_report_keys(
    fitted_model, primary_table, dataset_schema, thresholds
):
    """Metrics are read under the modelling report's own names; a missing one is
    listed."""
    frame = predicted_classes(fitted_model, primary_table.head(200), dataset_schema)
    settings = PerformanceParams(bootstrap_samples=200)
    result = performance_drop(
        frame,
        {"holdout": {"accuracy": 0.45}, "cv": {"f1_macro": 0.44}},
        dataset=dataset_schema,
        thresholds=thresholds,
        settings=settings,
        rng=np.random.default_rng(0),
    )
    assert result["metrics"]["f1_macro"]["reference"] == 0.44
    assert result["metrics"]["f1_macro"]["reference_block"] == "cv"
    assert result["metrics"]["accuracy"]["reference_block"] == "holdout"
    missing = performance_drop(
        frame,
        {"holdout": {"accuracy": 0.45}},
        dataset=dataset_schema,
        thresholds=thresholds,
        settings=settings,
        rng=np.random.default_rng(0),
    )
    assert missing["no_reference_figure"] == ["f1_macro"]


# --- collect_drift_gauges ----------------------------------------------------------
def _batch_report(status: str, code: int) -> dict:
    return {
        "status": status,
        "status_code": code,
        "retrain_recommended": status == "drift",
        "batch": "/data/in/batch 7.csv",
        "rows": 120,
        "columns": [
            {"column": "a", "flagged": True, "level": "drift", "psi": 0.4},
            {"column": "b", "flagged": False, "level": "ok", "psi": None},
        ],
    }


def test_collect_drift_gauges_publishes_the_verdict():
    report = _batch_report("drift", 2)
    gauges = collect_drift_gauges(report, report)
    assert gauges["batch"] == "batch 7.csv"
    assert {k: v["value"] for k, v in gauges.items() if k != "batch"} == {
        "status_code": 2.0,
        "retrain_recommended": 1.0,
        "rows": 120.0,
        "columns_flagged": 1.0,
        "columns_drifted": 1.0,
        "max_psi": 0.4,
    }
    assert all(v["help"] for k, v in gauges.items() if k != "batch")


def test_collect_drift_gauges_takes_the_model_verdict_over_the_inputs():
    model_report = {"status": "warning", "status_code": 1, "retrain_recommended": False}
    gauges = collect_drift_gauges(model_report, _batch_report("ok", 0))
    assert gauges["status_code"]["value"] == 1.0
    assert gauges["retrain_recommended"]["value"] == 0.0
