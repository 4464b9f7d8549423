"""Unit tests of the modelling nodes and estimators on a small synthetic table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from student_performance.core.params import DecisionParams, SelectionParams, SplitParams
from student_performance.models.metrics import METRICS
from student_performance.pipelines.modelling._card import build_model_card
from student_performance.pipelines.modelling._explain import (
    explain_holdout_rows,
    explain_model,
)
from student_performance.pipelines.modelling._figures import build_comparison_report
from student_performance.pipelines.modelling._report import (
    evaluate_holdout,
    report_selected_model,
)
from student_performance.pipelines.modelling._sets import (
    calibrate_prediction_sets,
    evaluate_set_coverage,
)
from student_performance.pipelines.modelling.nodes import (
    build_input_example,
    evaluate_candidates,
    fit_selected_model,
    freeze_dataset_schema,
    predict_performance,
    prepare_inference_features,
    split_development_holdout,
    summarise_candidates,
)

SELECTION = SelectionParams(primary_metric="quadratic_weighted_kappa")
DECISION = {"rule": "argmax", "cost": "absolute"}
DECISION_PARAMS = DecisionParams(**DECISION)  # what Kedro hands the nodes
CONFORMAL = {"level": 0.9, "mode": "marginal", "contiguous": True, "inner_splits": 3}
SETS = {
    "level": 0.9,
    "coverage": 0.91,
    "set_size": 1.8,
    "per_class": {"low": {"coverage": 0.95, "set_size": 1.5}},
}
EXPLAIN = {"scoring": "quadratic_weighted_kappa", "n_repeats": 3, "seed": 0}


@pytest.fixture(scope="module")
def folds(tiny_primary, tiny_schema, candidates, cv) -> pd.DataFrame:
    return evaluate_candidates(
        tiny_primary, tiny_schema, candidates, cv, DECISION_PARAMS
    )


@pytest.fixture(scope="module")
def selected(folds, candidates):
    return summarise_candidates(folds, candidates, SELECTION, DECISION_PARAMS)


def test_split_is_stratified_disjoint_and_complete(tiny_primary, tiny_schema):
    before = tiny_primary.copy()
    dev, holdout = split_development_holdout(
        tiny_primary, tiny_schema, SplitParams(holdout_share=0.25, seed=1)
    )
    assert len(holdout) == 30 and len(dev) == 90
    assert dev.index.intersection(holdout.index).empty
    shares = holdout["grade"].value_counts(normalize=True)
    assert (
        shares - tiny_primary["grade"].value_counts(normalize=True)
    ).abs().max() < 0.05
    pd.testing.assert_frame_equal(tiny_primary, before)


def test_evaluate_candidates_scores_every_config_on_every_fold(folds):
    # baseline 1 + logistic 2 + ridge 1 + lightgbm 1 configurations, 3 x 2 folds
    assert len(folds) == 5 * 6
    assert set(folds["candidate"]) == {
        "baseline",
        "logistic_regression",
        "ordinal_ridge",
        "lightgbm",
    }
    assert set(METRICS) <= set(folds.columns)
    assert folds[list(METRICS)].notna().all().all()


@pytest.mark.slow  # a second full search; tests/core/test_selection.py checks a small one
def test_evaluate_candidates_is_reproducible(tiny_primary, tiny_schema, candidates, cv):
    first = evaluate_candidates(
        tiny_primary, tiny_schema, candidates, cv, DECISION_PARAMS
    )
    second = evaluate_candidates(
        tiny_primary, tiny_schema, candidates, {**cv, "n_jobs": 2}, DECISION_PARAMS
    )
    pd.testing.assert_frame_equal(first, second)


def test_models_beat_the_baseline_which_is_always_reported(selected):
    summary, best, metrics = selected
    assert "baseline" in set(summary["candidate"])
    baseline = summary.set_index("candidate").loc["baseline"]
    assert baseline["quadratic_weighted_kappa_mean"] == 0
    assert best["candidate"] != "baseline"
    assert best["cv"]["quadratic_weighted_kappa"] > 0.5  # the signal is strong here
    assert metrics["baseline.accuracy_mean"]["value"] == pytest.approx(
        baseline["accuracy_mean"]
    )


def test_summarise_keeps_the_best_config_per_candidate(folds, candidates):
    summary, _, _ = summarise_candidates(folds, candidates, SELECTION, DECISION_PARAMS)
    assert summary["candidate"].is_unique
    assert summary["quadratic_weighted_kappa_mean"].is_monotonic_decreasing


def test_summarise_rejects_an_unknown_metric(folds, candidates):
    with pytest.raises(ValueError, match="primary_metric 'auc' is not one of"):
        summarise_candidates(
            folds, candidates, SelectionParams(primary_metric="auc"), DECISION_PARAMS
        )


def test_fit_evaluate_report_explain(tiny_primary, tiny_schema, selected, folds):
    summary, best, _ = selected
    model = fit_selected_model(tiny_primary, best, tiny_schema, seed=0)
    assert list(model.classes_) == ["low", "mid", "high"]
    metrics, per_class, figure = evaluate_holdout(model, tiny_primary, tiny_schema)
    assert set(metrics) == set(METRICS)
    assert set(per_class) >= {"low", "mid", "high", "macro avg"}
    assert figure.axes
    document, mlflow_metrics = report_selected_model(best, metrics, summary, SETS)
    assert mlflow_metrics["cv_set_coverage"]["value"] == SETS["coverage"]
    assert mlflow_metrics["cv_set_coverage_low"]["value"] == 0.95
    assert mlflow_metrics["cv_ece"]["value"] == best["cv"]["ece"]
    assert document["decision"] == DECISION
    assert document["holdout"] == metrics and document["model"] == best["candidate"]
    assert "baseline" in document["candidates_cv"]
    assert mlflow_metrics["holdout_accuracy"]["value"] == metrics["accuracy"]
    sets = {
        **SETS,
        "mode": "marginal",
        "contiguous": True,
        "coverage_std": 0.02,
        "set_size_std": 0.1,
        "per_class": {
            "low": {"coverage": 0.95, "set_size": 1.5},
            "high": {"coverage": 0.70, "set_size": 2.0},
        },
    }
    card = build_model_card(
        {**document, "prediction_sets": sets},
        summary,
        tiny_primary.head(90),
        tiny_primary.tail(30),
        tiny_schema,
    )
    assert card.startswith(f"# Model card: {best['candidate']}")
    assert "120 rows after cleaning; 90 for development" in card
    assert "most probable class" in card  # the decision rule
    assert card.count("± ") >= 6 * len(summary)  # every candidate, mean ± std
    assert "high (0.70)" in card  # an under-covered class is a known limit
    table, plot = explain_model(model, tiny_primary, tiny_schema, EXPLAIN)
    assert set(table["feature"]) == {"sport", "level", "hours"}
    assert set(table["feature"].head(2)) == {
        "hours",
        "level",
    }  # the features that matter
    assert plot.axes
    comparison = build_comparison_report(summary, document, folds)
    bars = [t.name for t in comparison.data if t.type == "bar"]
    lines = [t.name for t in comparison.data if t.type == "scatter"]
    assert lines[0] == "perfectly calibrated"
    assert {n.removesuffix(" (reliability)") for n in lines[1:]} == set(
        summary["candidate"]
    )
    assert bars[-1] == f"{best['candidate']} on the holdout (scored once)"
    assert {b.removesuffix(" (selected)") for b in bars[:-1]} == set(
        summary["candidate"]
    )
    table = next(t for t in comparison.data if t.type == "table")
    assert list(table.cells.values[0]) == list(summary["candidate"])


def test_explain_model_exact_contributions_for_linear_and_lightgbm(
    tiny_primary, tiny_schema
):
    for estimator, params in (
        ("logistic_regression", {}),
        ("lightgbm", {"n_estimators": 20}),
    ):
        config = {
            "candidate": estimator,
            "estimator": estimator,
            "ordinal_as": "codes",
            "params": params,
        }
        model = fit_selected_model(tiny_primary, config, tiny_schema, seed=0)
        table, _ = explain_model(model, tiny_primary, tiny_schema, EXPLAIN)
        contributions = table.set_index("feature")["mean_abs_contribution"]
        assert contributions.notna().all(), estimator
        assert contributions["hours"] > contributions["sport"], estimator


@pytest.mark.parametrize(
    ("estimator", "params", "units"),
    [
        ("ordinal_ridge", {"alpha": 1.0, "link": "out_of_fold"}, "ordinal score"),
        ("logistic_regression", {}, "log-odds of the predicted class"),
        ("lightgbm", {"n_estimators": 20}, "TreeSHAP"),
        ("random_forest", {"n_estimators": 5}, None),
    ],
)
def test_holdout_explanations_are_exact(
    tiny_primary, tiny_schema, estimator, params, units
):
    config = {
        "candidate": estimator,
        "estimator": estimator,
        "ordinal_as": "onehot",
        "params": params,
        "decision": DECISION,
    }
    model = fit_selected_model(tiny_primary, config, tiny_schema, seed=0)
    table = explain_holdout_rows(model, tiny_primary, tiny_schema)
    if units is None:
        assert table.empty
        return
    assert units in table["units"].iloc[0]
    assert (table.index == tiny_primary.index).all()
    contributions = table.filter(like="contribution_")
    assert list(contributions.columns) == [
        f"contribution_{f}" for f in tiny_schema.feature_names
    ]
    if estimator == "ordinal_ridge":  # additive: the score's gap to the reference
        X = tiny_primary[tiny_schema.feature_names]
        reference = X.iloc[:1].where(
            pd.DataFrame(False, index=X.index[:1], columns=X.columns)
        )
        pipeline = model.estimator_
        gap = pipeline.decision_function(X) - pipeline.decision_function(reference)
        assert np.allclose(contributions.sum(axis=1), gap)
    if estimator == "lightgbm":  # TreeSHAP adds up to the raw score minus its mean
        assert contributions.abs().to_numpy().sum() > 0


def test_inference_nodes_clean_raw_rows_like_training(
    tiny_primary, tiny_schema, selected, tiny_raw
):
    _, best, _ = selected
    model = fit_selected_model(tiny_primary, best, tiny_schema, seed=0)
    schema = freeze_dataset_schema(tiny_schema)
    assert json.loads(json.dumps(schema)) == schema
    example = build_input_example(tiny_raw, tiny_schema, n_rows=3)
    assert list(example.columns) == ["sport", "level", "hours"]
    assert example.loc[1, "sport"] == " NO "  # raw text, untouched
    calibration = calibrate_prediction_sets(
        tiny_primary, best, tiny_schema, CONFORMAL, seed=0
    )
    assert json.loads(json.dumps(calibration)) == calibration
    predictions = predict_performance(
        model, prepare_inference_features(example, schema), calibration
    )
    assert list(predictions.columns) == [
        "prediction",
        "proba_low",
        "proba_mid",
        "proba_high",
        "prediction_set",
    ]
    assert np.allclose(predictions.filter(like="proba_").sum(axis=1), 1)
    assert set(predictions["prediction"]) <= {"low", "mid", "high"}
    for label, members in zip(
        predictions["prediction"], predictions["prediction_set"], strict=True
    ):
        assert label in members.split("|")


def test_prediction_is_invariant_to_case_spaces_and_missing_tokens(
    tiny_primary, tiny_schema, selected, tiny_raw
):
    """Made-With-ML style behaviour test: spelling noise does not change the answer."""
    _, best, _ = selected
    model = fit_selected_model(tiny_primary, best, tiny_schema, seed=0)
    schema = freeze_dataset_schema(tiny_schema)
    clean = tiny_raw[["sport", "level", "hours"]].apply(
        lambda s: s.str.strip().str.lower()
    )
    noisy = clean.apply(lambda s: "  " + s.str.upper() + " ")
    noisy.loc[2, "level"] = " NaN "
    clean.loc[2, "level"] = ""
    pd.testing.assert_frame_equal(
        predict_performance(model, prepare_inference_features(clean, schema), None),
        predict_performance(model, prepare_inference_features(noisy, schema), None),
    )


def test_set_coverage_node_reports_overall_and_per_class(
    tiny_primary, tiny_schema, selected, cv
):
    _, best, _ = selected
    report = evaluate_set_coverage(tiny_primary, best, tiny_schema, cv, CONFORMAL)
    assert report["level"] == 0.9 and report["rows"] == len(tiny_primary) * 2
    assert 0.75 <= report["coverage"] <= 1
    assert 1 <= report["set_size"] <= 3
    assert set(report["per_class"]) == {"low", "mid", "high"}
