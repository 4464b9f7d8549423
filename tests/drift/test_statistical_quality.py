"""Statistical quality on the real cleaned data: few false alarms, real shifts caught.

Seeded. Reference and current parts of a split are disjoint (the honest two-sample
null), or the current batch is drawn from the reference's own rows. Batches go
through the same text cleaning as a real batch (cleaned together in one pass).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from student_performance.batch.cleaning import clean_rows, unseen_table
from student_performance.drift.detect import compare_profiles, profile_frame
from student_performance.drift.prediction_drift import (
    performance_drop,
    predicted_classes,
)
from student_performance.drift.settings import (
    DriftTestsParams,
    PerformanceParams,
    SimulationParams,
)
from student_performance.drift.simulate import (
    destination_category,
    detection_rates,
    mixing_for_psi,
)
from tests.conftest import as_raw

# Hundreds of seeded batches per test: part of `make test`, not of `make test-fast`.
pytestmark = pytest.mark.slow

THRESHOLDS = DriftTestsParams(monte_carlo_samples=999)
N_SPLITS = 200


def _reports(pairs, schema, thresholds=THRESHOLDS) -> list[dict]:
    """Drift reports of (reference, current) typed pairs; currents cleaned as text."""
    raw = pd.concat([as_raw(cur) for _, cur in pairs], keys=range(len(pairs)))
    typed, invalid = clean_rows(raw, schema)
    return [
        compare_profiles(
            profile_frame(ref, schema),
            profile_frame(typed.xs(i, level=0), schema),
            unseen_table(invalid.xs(i, level=0)),
            dataset=schema,
            thresholds=thresholds,
            seed=i,
        )
        for i, (ref, _) in enumerate(pairs)
    ]


def _split(table: pd.DataFrame, n_current: int, seed: int):
    order = np.random.default_rng(seed).permutation(len(table))
    return table.iloc[order[n_current:]], table.iloc[order[:n_current]]


def _rates(reports: list[dict]) -> pd.Series:
    return pd.Series([r["status"] for r in reports]).value_counts(normalize=True)


@pytest.mark.parametrize(("n_current", "n_splits"), [(50, 100), (200, 200), (314, 100)])
def test_false_alarms_on_disjoint_no_drift_splits(
    primary_table, dataset_schema, n_current, n_splits
):
    pairs = [_split(primary_table, n_current, seed) for seed in range(n_splits)]
    rates = _rates(_reports(pairs, dataset_schema))
    assert rates.get("drift", 0.0) <= 0.05, rates.to_dict()
    assert rates.get("ok", 0.0) >= 0.90, rates.to_dict()


def test_false_alarms_when_the_batch_comes_from_the_reference_rows(
    primary_table, dataset_schema
):
    rng = np.random.default_rng(0)
    pairs = [
        (primary_table, primary_table.iloc[rng.choice(len(primary_table), 200, False)])
        for _ in range(N_SPLITS)
    ]
    rates = _rates(_reports(pairs, dataset_schema))
    assert rates.get("drift", 0.0) <= 0.05, rates.to_dict()
    assert rates.get("ok", 0.0) >= 0.90, rates.to_dict()


def _shift_one_feature(reference, current, name, target_psi, schema, rng):
    """Move mass in ``current[name]`` so its PSI against ``reference`` is ~target."""
    counts = profile_frame(reference[[name]], schema)[name].counts
    destination = destination_category(counts)
    s = mixing_for_psi(counts, destination, target_psi)
    move = current[name].notna().to_numpy() & (rng.random(len(current)) < s)
    return current.assign(
        **{name: current[name].mask(move, current[name].cat.categories[destination])}
    )


def test_power_for_a_moderate_shift_of_one_feature(primary_table, dataset_schema):
    """PSI 0.25 injected into one feature (each feature in turn), 110 seeds."""
    features = dataset_schema.feature_names
    pairs, shifted = [], []
    for seed in range(110):
        reference, current = _split(primary_table, 200, seed)
        name = features[seed % len(features)]
        rng = np.random.default_rng(seed)
        pairs.append(
            (
                reference,
                _shift_one_feature(reference, current, name, 0.25, dataset_schema, rng),
            )
        )
        shifted.append(name)
    reports = _reports(pairs, dataset_schema)
    levels = [
        next(c["level"] for c in r["columns"] if c["column"] == name)
        for r, name in zip(reports, shifted, strict=True)
    ]
    flagged = np.mean([level != "ok" for level in levels])
    assert flagged >= 0.90, pd.Series(levels).value_counts().to_dict()
    assert np.mean([r["status"] != "ok" for r in reports]) >= 0.90


def test_every_simulation_kind_is_detected_from_intensity_half(
    primary_table, dataset_schema
):
    settings = SimulationParams(intensities=(0.0, 0.5, 1.0), repeats=10)
    table = detection_rates(
        primary_table,
        dataset=dataset_schema,
        thresholds=THRESHOLDS,
        settings=settings,
        seed=42,
    )
    no_drift = table[table["intensity"] == 0.0]
    assert no_drift["drift"].max() <= 0.1, no_drift.to_dict("records")
    strong = table[table["intensity"] >= 0.5]
    assert strong["detected"].min() == 1.0, strong.to_dict("records")
    # At full intensity, shifts in distribution recommend retraining.
    full = table[table["intensity"] == 1.0].set_index("kind")
    for kind in ("feature_shift", "label_imbalance", "combined"):
        assert full.loc[kind, "retrain"] >= 0.9, kind
    for kind in ("missing_values", "unseen_categories"):
        assert full.loc[kind, "drift"] == 1.0 and full.loc[kind, "retrain"] == 0.0


def test_performance_check_false_alarms_and_power(
    primary_table, dataset_schema, fitted_model
):
    predicted = predicted_classes(fitted_model, primary_table, dataset_schema)
    accuracy = float(
        (predicted["prediction"] == predicted[dataset_schema.target.name]).mean()
    )
    champion = {"holdout": {"accuracy": accuracy, "f1_macro": 0.0}}
    settings = PerformanceParams(metrics=("accuracy",), bootstrap_samples=500)
    target = dataset_schema.target.name

    def _flagged(frame: pd.DataFrame, seed: int) -> bool:
        result = performance_drop(
            frame,
            champion,
            dataset=dataset_schema,
            thresholds=THRESHOLDS,
            settings=settings,
            rng=np.random.default_rng(seed),
        )
        return result["metrics"]["accuracy"]["level"] == "drift"

    rng = np.random.default_rng(0)
    alarms = [
        _flagged(predicted.iloc[rng.choice(len(predicted), 200, False)], seed)
        for seed in range(100)
    ]
    assert np.mean(alarms) <= 0.05
    worse = []
    for seed in range(30):
        batch = predicted.iloc[rng.choice(len(predicted), 200, False)].copy()
        noisy = rng.random(len(batch)) < 0.4  # 40 % of labels replaced at random
        batch.loc[noisy, target] = rng.choice(
            dataset_schema.target.classes, int(noisy.sum())
        )
        worse.append(_flagged(batch, seed))
    assert np.mean(worse) >= 0.9
