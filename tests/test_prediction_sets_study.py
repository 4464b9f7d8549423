"""studies/prediction_sets.py: the comparison behind the modelling README's table of
conformity scores measures the shipped sets exactly as the pipeline does."""

from __future__ import annotations

import pytest

from student_performance.core.conformal import evaluate_prediction_sets

from .conftest import load_study

RIDGE = {
    "estimator": "ordinal_ridge",
    "ordinal_as": "onehot",
    "params": {"alpha": 1.0, "link": "out_of_fold"},
    "decision": {"rule": "argmax", "cost": "absolute"},
}


@pytest.fixture(scope="module")
def study():
    return load_study("prediction_sets")


@pytest.mark.slow  # two repeated CVs with inner folds: seconds
def test_shipped_rows_are_the_pipelines_figures(study, primary_table, dataset_schema):
    cv = {"n_splits": 5, "n_repeats": 1, "seed": 7}
    rows = {
        (r["score"], r["mode"]): r
        for r in study.measure(primary_table, dataset_schema, RIDGE, cv, 0.9, 1)
    }
    shipped = evaluate_prediction_sets(
        primary_table,
        dataset_schema,
        RIDGE,
        cv | {"n_jobs": 1},
        {"level": 0.9, "mode": "marginal", "contiguous": True, "inner_splits": 5},
    )
    row = rows["lac_contiguous", "marginal"]
    assert row["coverage"] == pytest.approx(shipped["covered"].mean())
    assert row["set_size"] == pytest.approx(shipped["set_size"].mean())
    # every score covers about the level; the greedy and cumulative scores' sets
    # are runs of classes by construction
    for (score, mode), figures in rows.items():
        assert 0.85 <= figures["coverage"] <= 0.95, (score, mode)
        if mode == "marginal" and score in {"greedy", "cumulative"}:
            assert figures["gappy"] == 0
