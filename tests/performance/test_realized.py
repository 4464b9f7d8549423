"""Realized figures equal scikit-learn's, their intervals hold them, and the health
rule says ok / warning / degraded on crafted cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    log_loss,
)

from student_performance.performance.confusion import (
    batched_confusion,
    confusion_counts,
    confusion_metrics,
)
from student_performance.performance.realized import (
    REALIZED_METRICS,
    HealthParams,
    Outcomes,
    RealizedParams,
    _resampled,
    _row_values,
    bootstrap_figures,
    judge,
    realized_figures,
    realized_performance,
)

from .conftest import calibrated

LABELS = np.arange(4)


def _sklearn(outcomes: Outcomes) -> dict[str, float]:
    truth, predicted = outcomes.truth, outcomes.predicted
    return {
        "accuracy": accuracy_score(truth, predicted),
        "f1_macro": f1_score(
            truth, predicted, labels=LABELS, average="macro", zero_division=0
        ),
        "quadratic_weighted_kappa": cohen_kappa_score(
            truth, predicted, labels=LABELS, weights="quadratic"
        ),
        "log_loss": log_loss(truth, outcomes.proba, labels=LABELS),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_figures_are_scikit_learns(seed):
    outcomes = calibrated(300, seed)
    figures = realized_figures(outcomes)
    for name, expected in _sklearn(outcomes).items():
        assert figures[name] == pytest.approx(expected), name
    # the vectorised confusion formulas (used by the bootstrap) agree too
    confusion = confusion_counts(outcomes.truth, outcomes.predicted, 4)
    assert np.array_equal(
        confusion, confusion_matrix(outcomes.truth, outcomes.predicted, labels=LABELS)
    )
    for name, value in confusion_metrics(confusion).items():
        assert float(value) == pytest.approx(figures[name]), name
    rows = np.arange(300)
    assert figures["set_coverage"] == pytest.approx(
        outcomes.members[rows, outcomes.truth].mean()
    )
    assert figures["set_size"] == 2


def test_macro_f1_counts_an_absent_class_as_zero_as_scikit_learn_does():
    truth, predicted = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    expected = f1_score(
        truth, predicted, labels=LABELS, average="macro", zero_division=0
    )
    confusion = confusion_counts(truth, predicted, 4)
    assert confusion_metrics(confusion)["f1_macro"] == pytest.approx(expected)


def test_batched_confusion_is_one_matrix_per_row():
    truth = np.array([[0, 1, 2], [2, 2, 2]])
    predicted = np.array([0, 2, 2])
    batched = batched_confusion(truth, predicted, 3)
    for row, matrix in zip(truth, batched, strict=True):
        assert np.array_equal(matrix, confusion_counts(row, predicted, 3))


def test_bootstrap_on_the_rows_themselves_gives_the_point_figures():
    outcomes = calibrated(200, 3)
    params = RealizedParams(n_resamples=10, seed=0)
    draws = bootstrap_figures(outcomes, params)
    assert {name: len(values) for name, values in draws.items()} == dict.fromkeys(
        REALIZED_METRICS, 10
    )
    # the resample formulas on the identity resample are the point figures
    identity = _resampled(outcomes, _row_values(outcomes, 10), np.arange(200)[None], 10)
    for name, value in realized_figures(outcomes).items():
        assert float(identity[name][0]) == pytest.approx(value), name


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_intervals_hold_the_point_and_are_seeded(seed):
    outcomes = calibrated(150, seed)
    params = RealizedParams(n_resamples=300, seed=seed)
    figures = realized_performance(outcomes, params)
    assert figures["n"] == {"value": 150.0}
    assert set(figures) == {"n", *REALIZED_METRICS}
    for name in REALIZED_METRICS:
        figure = figures[name]
        assert figure["low"] <= figure["value"] <= figure["high"], name
    assert figures["accuracy"]["high"] - figures["accuracy"]["low"] > 0.05
    assert realized_performance(outcomes, params) == figures


def test_without_sets_there_are_no_set_figures():
    outcomes = calibrated(50, 0)
    bare = Outcomes(outcomes.truth, outcomes.proba, outcomes.predicted)
    figures = realized_performance(bare, RealizedParams(n_resamples=20))
    assert "set_coverage" not in figures and "set_size" not in figures


def _figure(value, low, high):
    return {"value": value, "low": low, "high": high}


PROMISE = {"accuracy": 0.50, "log_loss": 1.10, "set_coverage": 0.90}
RULE = HealthParams(tolerance={"accuracy": 0.05, "log_loss": 0.1, "set_coverage": 0.03})


@pytest.mark.parametrize(
    ("accuracy", "log_loss", "expected"),
    [
        (_figure(0.49, 0.44, 0.54), _figure(1.12, 1.05, 1.2), "ok"),
        # point below promise - tolerance, interval still reaches it: warning
        (_figure(0.43, 0.38, 0.48), _figure(1.12, 1.05, 1.2), "warning"),
        # the whole interval below promise - tolerance: degraded
        (_figure(0.38, 0.33, 0.43), _figure(1.12, 1.05, 1.2), "degraded"),
        # lower is better for log loss: mirrored
        (_figure(0.5, 0.45, 0.55), _figure(1.25, 1.15, 1.35), "warning"),
        (_figure(0.5, 0.45, 0.55), _figure(1.35, 1.25, 1.45), "degraded"),
    ],
)
def test_the_rule_on_crafted_cases(accuracy, log_loss, expected):
    realized = {
        "n": {"value": 500.0},
        "accuracy": accuracy,
        "log_loss": log_loss,
        "set_coverage": _figure(0.9, 0.87, 0.93),
        "brier": _figure(0.9, 0.8, 1.0),  # no tolerance: not judged
    }
    verdict = judge(realized, PROMISE, RULE)
    assert verdict["status"] == expected
    assert set(verdict["metrics"]) == {"accuracy", "log_loss", "set_coverage"}
    assert verdict["metrics"]["set_coverage"]["status"] == "ok"


def test_the_rule_skips_metrics_without_a_promise_or_a_figure():
    realized = {"accuracy": _figure(0.1, 0.05, 0.15)}
    assert judge(realized, {}, RULE) == {"status": "ok", "metrics": {}}
    verdict = judge(realized, {"accuracy": 0.5, "f1_macro": 0.5}, RULE)
    assert verdict["status"] == "degraded"
    assert verdict["metrics"]["accuracy"]["promise"] == 0.5


def test_a_misspelt_tolerance_or_misshaped_outcomes_are_refused():
    with pytest.raises(ValueError, match="accurcy"):
        HealthParams(tolerance={"accurcy": 0.05})
    good = calibrated(10, 0)
    with pytest.raises(ValueError, match="same rows"):
        Outcomes(good.truth[:5], good.proba, good.predicted)
    with pytest.raises(ValueError, match="shaped like proba"):
        Outcomes(good.truth, good.proba, good.predicted, good.members[:, :2])
