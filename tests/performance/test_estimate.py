"""The estimate from calibrated probabilities: exact where it is an expectation, close
to the realized mean over many label draws, and its interval holds the realized figure
in about 95 % of batches (fixed seeds: the counts are deterministic)."""

from __future__ import annotations

import numpy as np
import pytest

from student_performance.performance.confusion import (
    confusion_counts,
    confusion_metrics,
)
from student_performance.performance.estimate import (
    EstimateParams,
    draw_labels,
    estimate_performance,
    estimated_figures,
    expected_confusion,
    simulated_figures,
)

from .conftest import calibrated

SEEDS = range(100)


def _realized(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Accuracy, macro F1 and QWK (equal to scikit-learn's: see test_realized)."""
    confusion = confusion_counts(truth, predicted, 4)
    return {name: float(v) for name, v in confusion_metrics(confusion).items()}


def test_expected_accuracy_is_the_mean_probability_of_the_predicted_class():
    outcomes = calibrated(400, 0)
    figures = estimated_figures(outcomes.proba, outcomes.predicted, outcomes.members)
    # argmax decision: the mean top probability
    assert figures["accuracy"] == pytest.approx(outcomes.proba.max(axis=1).mean())
    # any decision: the mean probability of the predicted class
    other = (outcomes.predicted + 1) % 4
    rows = np.arange(400)
    assert estimated_figures(outcomes.proba, other)["accuracy"] == pytest.approx(
        outcomes.proba[rows, other].mean()
    )
    assert figures["set_coverage"] == pytest.approx(
        (outcomes.proba * outcomes.members).sum(axis=1).mean()
    )


def test_expected_confusion_spreads_each_row_over_its_predicted_column():
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    predicted = np.array([0, 2])
    expected = expected_confusion(proba, predicted)
    assert np.allclose(expected[:, 0], [0.7, 0.2, 0.1])
    assert np.allclose(expected[:, 2], [0.1, 0.3, 0.6])
    assert np.allclose(expected[:, 1], 0)
    # certain probabilities: the expected matrix is the realized one
    onehot = np.eye(3)[[0, 1, 1, 2]]
    assert np.array_equal(
        expected_confusion(onehot, np.array([0, 1, 2, 2])),
        confusion_counts(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), 3),
    )


def test_drawn_labels_follow_the_probabilities():
    proba = np.array([[0.2, 0.5, 0.3], [1.0, 0.0, 0.0]])
    labels = draw_labels(proba, 20_000, np.random.default_rng(0))
    shares = np.bincount(labels[:, 0], minlength=3) / 20_000
    assert np.allclose(shares, proba[0], atol=0.01)
    assert (labels[:, 1] == 0).all()


def test_the_estimate_is_the_realized_mean_over_label_draws():
    """One batch of probabilities, labels drawn 200 times: the mean realized figure
    is what the estimate expects (exactly for accuracy; closely for F1 and QWK)."""
    base = calibrated(500, 0)
    estimate = estimated_figures(base.proba, base.predicted, base.members)
    rows = np.arange(500)
    realized = [
        _realized(truth, base.predicted)
        | {"set_coverage": base.members[rows, truth].mean()}
        for truth in draw_labels(base.proba, 200, np.random.default_rng(1))
    ]
    tolerance = {"accuracy": 0.005, "set_coverage": 0.005, "f1_macro": 0.01}
    tolerance["quadratic_weighted_kappa"] = 0.01
    for name, bound in tolerance.items():
        mean = np.mean([figures[name] for figures in realized])
        assert abs(estimate[name] - mean) <= bound, name


def test_the_interval_holds_the_realized_figure_in_about_95_percent_of_batches():
    held = dict.fromkeys(("accuracy", "f1_macro", "quadratic_weighted_kappa"), 0)
    for seed in SEEDS:
        batch = calibrated(300, seed)
        params = EstimateParams(n_draws=400, seed=seed)
        estimate = estimate_performance(batch.proba, batch.predicted, params)
        realized = _realized(batch.truth, batch.predicted)
        for name in held:
            figure = estimate[name]
            held[name] += figure["low"] <= realized[name] <= figure["high"]
    assert all(count >= 90 for count in held.values()), held


def test_simulated_figures_are_seeded_and_shaped():
    batch = calibrated(120, 5)
    params = EstimateParams(n_draws=50, seed=3)
    first = simulated_figures(batch.proba, batch.predicted, params, batch.members)
    again = simulated_figures(batch.proba, batch.predicted, params, batch.members)
    assert set(first) == {
        "accuracy",
        "f1_macro",
        "quadratic_weighted_kappa",
        "set_coverage",
    }
    for name, values in first.items():
        assert values.shape == (50,)
        assert np.array_equal(values, again[name])
    result = estimate_performance(batch.proba, batch.predicted, params)
    assert result["n"] == {"value": 120.0}
    for name in ("accuracy", "f1_macro", "quadratic_weighted_kappa"):
        assert result[name]["low"] <= result[name]["value"] <= result[name]["high"]


def test_figures_of_the_expected_confusion_are_the_confusion_formulas():
    batch = calibrated(80, 9)
    expected = expected_confusion(batch.proba, batch.predicted)
    figures = estimated_figures(batch.proba, batch.predicted)
    for name, value in confusion_metrics(expected).items():
        assert figures[name] == pytest.approx(float(value))


def test_weights_count_a_row_several_times_with_one_label():
    batch = calibrated(60, 11)
    counts = np.random.default_rng(0).integers(1, 6, size=60)
    expanded = np.repeat(np.arange(60), counts)
    weighted = estimated_figures(batch.proba, batch.predicted, batch.members, counts)
    repeated = estimated_figures(
        batch.proba[expanded], batch.predicted[expanded], batch.members[expanded]
    )
    for name, value in repeated.items():
        assert weighted[name] == pytest.approx(value), name
    params = EstimateParams(n_draws=400, seed=2)
    once = estimate_performance(batch.proba, batch.predicted, params, weights=counts)
    apart = estimate_performance(
        batch.proba[expanded], batch.predicted[expanded], params
    )
    assert once["n"]["value"] == len(expanded)
    # one label per repeated row: more spread than as many independent rows
    width = {k: v["high"] - v["low"] for k, v in once.items() if k != "n"}
    assert width["accuracy"] > 1.3 * (
        apart["accuracy"]["high"] - apart["accuracy"]["low"]
    )
