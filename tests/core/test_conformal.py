"""Prediction sets: the conformal quantile, set shapes, and coverage on fresh CV seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from student_performance.core.conformal import (
    apply_set_calibration,
    conformal_quantile,
    describe_set,
    evaluate_prediction_sets,
    fit_group_thresholds,
    fit_prediction_sets,
    fit_set_thresholds,
    prediction_sets,
    row_prediction_set,
    summarise_set_rows,
)
from student_performance.core.params import ConformalParams

RIDGE = {
    "candidate": "ordinal_ridge",
    "estimator": "ordinal_ridge",
    "ordinal_as": "onehot",
    "params": {"alpha": 3.0, "link": "out_of_fold"},
    "decision": {"rule": "argmax", "cost": "absolute"},
}


def test_conformal_quantile_is_the_finite_sample_rank():
    scores = np.arange(1, 20) / 20  # 19 scores
    # ceil(20 * 0.9) = 18th smallest
    assert conformal_quantile(scores, 0.9) == pytest.approx(18 / 20)
    assert conformal_quantile(scores[:5], 0.9) == 1.0  # too few: every class


def test_class_conditional_thresholds_differ_by_class():
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    truth = np.array([0, 0, 1, 1])
    marginal = fit_set_thresholds(proba, truth, 0.5)
    assert marginal[0] == marginal[1]
    per_class = fit_set_thresholds(proba, truth, 0.5, "class_conditional")
    assert per_class[0] == pytest.approx(0.2) and per_class[1] == pytest.approx(0.6)
    assert marginal[0] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="mode"):
        fit_set_thresholds(proba, truth, 0.5, "per_row")


def test_sets_are_never_empty_and_contiguous_when_asked():
    proba = np.array([[0.45, 0.1, 0.45, 0.0], [0.2, 0.3, 0.3, 0.2]])
    gappy = prediction_sets(proba, np.full(4, 0.6), contiguous=False)
    assert gappy[0].tolist() == [True, False, True, False]
    run = prediction_sets(proba, np.full(4, 0.6), contiguous=True)
    assert run[0].tolist() == [True, True, True, False]
    strict = prediction_sets(proba, np.full(4, 0.0), contiguous=True)
    assert strict.sum(axis=1).tolist() == [1, 1]  # the most probable class only


def test_the_set_always_holds_the_predicted_class():
    proba = np.array([[0.5, 0.4, 0.05, 0.05]])
    narrow = np.full(4, 0.55)  # only class 0 reaches 1 - 0.55
    assert prediction_sets(proba, narrow).tolist() == [[True, False, False, False]]
    # a decision rule that picked class 2: the set widens to hold it
    with_rule = prediction_sets(proba, narrow, predicted=np.array([2]))
    assert with_rule.tolist() == [[True, True, True, False]]


@pytest.mark.parametrize("contiguous", [True, False])
def test_one_row_in_plain_python_is_the_same_set(contiguous):
    """The served single-record path gives the very sets of the array path, on many
    rows, thresholds and predicted classes (ties at the threshold included)."""
    rng = np.random.default_rng(5)
    proba = rng.dirichlet(np.full(4, 0.7), 3_000)
    proba[:50] = np.round(proba[:50], 1)  # values on a threshold
    thresholds = np.array([0.6, 0.9, 0.7, 0.8])
    predicted = rng.integers(0, 4, len(proba))
    expected = prediction_sets(proba, thresholds, contiguous, predicted)
    rows = [
        row_prediction_set(row, thresholds.tolist(), contiguous, int(k))
        for row, k in zip(proba.tolist(), predicted, strict=True)
    ]
    assert rows == expected.tolist()


def test_describe_set():
    assert describe_set(["Good", "Vg"], 0.9) == "Good or Vg, 90 %"
    classes = ["Average", "Good", "Vg", "Excellent"]
    assert describe_set(["Good", "Vg"], 0.9, classes) == "Good or Vg, 90 %"
    # a set with a gap says what it leaves out, not only what it holds
    assert (
        describe_set(["Average", "Vg"], 0.9, classes)
        == "Average or Vg (not Good), 90 %"
    )


@pytest.mark.slow  # repeated CV on the full cleaned table: seconds per seed
@pytest.mark.parametrize("seed", [101, 202])
def test_coverage_on_fresh_cv_seeds_is_within_a_binomial_tolerance(
    primary_table, dataset_schema, seed
):
    """Statistical test: at 90 % the sets cover the truth 90 % of the time.

    Seeds the selection never used; every outer fold calibrates on its own training
    rows. Pooled over n validation rows, the coverage of a valid conformal procedure
    is 0.90 + at most 1/(n_cal + 1), with binomial noise: accept within
    3 * sqrt(0.9 * 0.1 / n) (+ the 1/(n_cal + 1) the guarantee allows above).
    """
    cv = {"n_splits": 5, "n_repeats": 1, "seed": seed, "n_jobs": 1}
    rows = evaluate_prediction_sets(
        primary_table,
        dataset_schema,
        RIDGE,
        cv,
        {"level": 0.9, "mode": "marginal", "inner_splits": 5},
    )
    n = len(rows)
    assert n == len(primary_table)
    tolerance = 3 * math.sqrt(0.9 * 0.1 / n)
    coverage = rows["covered"].mean()
    assert 0.9 - tolerance <= coverage <= 0.9 + tolerance + 1 / (0.8 * n * 0.8 + 1)
    summary = summarise_set_rows(rows, list(dataset_schema.target.classes))
    assert summary["set_size"] < 3  # informative: well below all four classes
    assert set(summary["per_class"]) == set(dataset_schema.target.classes)


def _two_groups(rng, n: int):
    """Seeded rows of two groups: the model is sharp for "a", vague for "b"."""
    groups = rng.choice(np.array(["a", "b"], dtype=object), n)
    truth = rng.integers(0, 4, n)
    strength = np.where(groups == "a", 2.0, 0.7)[:, None]
    logits = np.eye(4)[truth] * strength + rng.normal(0, 1, (n, 4))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return proba, truth, groups


def test_group_conditional_sets_cover_every_group_at_the_level():
    rng = np.random.default_rng(11)
    proba, truth, groups = _two_groups(rng, 4000)
    fresh_proba, fresh_truth, fresh_groups = _two_groups(rng, 4000)
    marginal = {
        "contiguous": False,
        "thresholds": fit_set_thresholds(proba, truth, 0.9).tolist(),
    }
    mondrian = {
        **marginal,
        "group_feature": "g",
        "group_thresholds": {
            g: [q] * 4
            for g, q in fit_group_thresholds(proba, truth, 0.9, groups).items()
        },
    }

    def coverage(calibration, group):
        members = apply_set_calibration(fresh_proba, calibration, groups=fresh_groups)
        covered = members[np.arange(len(fresh_truth)), fresh_truth]
        return covered[fresh_groups == group].mean()

    assert coverage(marginal, "b") < 0.87  # one threshold: "b" under-covered
    assert coverage(marginal, "a") > 0.95  # ... and "a" over-covered
    for group in ("a", "b"):
        assert coverage(mondrian, group) == pytest.approx(0.9, abs=0.025)
    with pytest.raises(ValueError, match="need each row"):
        apply_set_calibration(fresh_proba, mondrian)
    unseen = apply_set_calibration(fresh_proba[:1], mondrian, groups=["z"])
    expected = apply_set_calibration(fresh_proba[:1], marginal)
    assert unseen.tolist() == expected.tolist()  # an unseen group: marginal sets


def test_group_conditional_mode_needs_a_sensitive_group_feature(
    tiny_primary, tiny_schema
):
    configuration = {**RIDGE}
    with pytest.raises(ValueError, match="group_feature"):
        ConformalParams(mode="group_conditional")
    conformal = ConformalParams(mode="group_conditional", group_feature="sport")
    with pytest.raises(ValueError, match="not a sensitive feature"):
        fit_prediction_sets(tiny_primary, tiny_schema, configuration, conformal, 0)
    schema = tiny_schema.model_copy(update={"sensitive_features": ("sport",)})
    calibration = fit_prediction_sets(tiny_primary, schema, configuration, conformal, 0)
    assert calibration["group_feature"] == "sport"
    assert {"yes", "no"} <= set(calibration["group_thresholds"])  # and "missing"
