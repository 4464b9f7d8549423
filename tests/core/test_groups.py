"""Figures per sensitive group: the schema's list, the group table against scikit-learn
on the same predictions, small groups flagged, the gaps and the worst group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score, log_loss

from student_performance.core.groups import FairnessParams, group_report
from student_performance.models.metrics import expected_calibration_error
from student_performance.schema import DatasetSchema

CLASSES = ["low", "mid", "high"]


def _schema(**extra) -> dict:
    return {
        "name": "tiny",
        "target": {"name": "grade", "classes": CLASSES},
        "features": [
            {"name": "sex", "kind": "nominal", "values": ["f", "m"]},
            {"name": "hours", "kind": "numeric"},
        ],
        **extra,
    }


def test_sensitive_features_must_be_categorical_features_of_the_schema():
    schema = DatasetSchema.model_validate(_schema(sensitive_features=["sex"]))
    assert schema.sensitive_features == ("sex",)
    for wrong in (["age"], ["hours"], ["sex", "sex"]):
        with pytest.raises(ValidationError):
            DatasetSchema.model_validate(_schema(sensitive_features=wrong))
    without = schema.without(["sex"])
    assert without.feature_names == ["hours"] and without.sensitive_features == ()
    with pytest.raises(ValueError, match="unknown"):
        schema.without(["age"])


@pytest.fixture(scope="module")
def oof():
    """Out-of-fold rows of 300 students over 2 repeats; group "c" is small, and the
    model is right more often for group "a" than for "b"."""
    rng = np.random.default_rng(3)
    n = 300
    frame = pd.DataFrame({"sex": rng.choice(["a", "b", "c"], n, p=[0.5, 0.45, 0.05])})
    parts = []
    for repeat in range(2):
        truth = rng.integers(0, 3, n)
        right = rng.random(n) < np.where(frame["sex"] == "a", 0.8, 0.5)
        predicted = np.where(right, truth, rng.integers(0, 3, n))
        proba = rng.dirichlet([1, 1, 1], n) * 0.4
        proba[np.arange(n), predicted] += 0.6
        columns = {"repeat": repeat, "fold": 0, "true_class": np.array(CLASSES)[truth]}
        columns |= {"covered": rng.random(n) < 0.9, "set_size": rng.integers(1, 3, n)}
        columns |= {
            "row": np.arange(n),
            "predicted_class": np.array(CLASSES)[predicted],
        }
        columns |= {f"proba_{k}": proba[:, k] for k in range(3)}
        parts.append(pd.DataFrame(columns))
    return pd.concat(parts, ignore_index=True), frame


def test_group_table_equals_scikit_learn_on_the_same_predictions(oof):
    rows, frame = oof
    params = FairnessParams(min_group_rows=30, n_bootstrap=20, seed=0)
    report = group_report(rows, frame, ["sex"], CLASSES, params)
    groups = frame["sex"].to_numpy()[rows["row"]]
    index = {c: k for k, c in enumerate(CLASSES)}
    for group, figures in report["features"]["sex"]["groups"].items():
        part = rows[groups == group]
        truth = part["true_class"].map(index).to_numpy()
        predicted = part["predicted_class"].map(index).to_numpy()
        proba = part[["proba_0", "proba_1", "proba_2"]].to_numpy()
        expected = {
            "accuracy": accuracy_score(truth, predicted),
            "f1_macro": f1_score(truth, predicted, average="macro"),
            "quadratic_weighted_kappa": cohen_kappa_score(
                truth, predicted, weights="quadratic"
            ),
            "log_loss": log_loss(truth, proba, labels=[0, 1, 2]),
            "ece": expected_calibration_error(truth, proba),
            "coverage": part["covered"].mean(),
            "set_size": part["set_size"].mean(),
            "share_high": (predicted == 2).mean(),
        }
        for metric, value in expected.items():
            assert figures[metric] == pytest.approx(value), (group, metric)
        assert figures["n"] == part["row"].nunique()
        assert figures["small"] == (figures["n"] < 30)
    assert report["features"]["sex"]["groups"]["c"]["small"]


def test_gaps_leave_small_groups_out_and_carry_an_interval(oof):
    rows, frame = oof
    report = group_report(rows, frame, ["sex"], CLASSES, FairnessParams(n_bootstrap=30))
    groups = report["features"]["sex"]["groups"]
    gap = report["features"]["sex"]["gaps"]["accuracy"]
    assert gap["gap"] == pytest.approx(
        abs(groups["a"]["accuracy"] - groups["b"]["accuracy"])
    )
    assert gap["low"] <= gap["high"] and gap["low"] <= gap["gap"] <= gap["high"]
    worst = report["worst"]["quadratic_weighted_kappa"]
    assert (worst["feature"], worst["group"]) == ("sex", "b")
    assert worst["value"] == pytest.approx(groups["b"]["quadratic_weighted_kappa"])


def test_calibration_groups_reads_the_calibrations_feature():
    from student_performance.core.groups import calibration_groups  # noqa: PLC0415

    features = pd.DataFrame({"sex": ["f", None, "m"]})
    assert calibration_groups({"thresholds": [0.5]}, features) is None
    assert calibration_groups(None, features) is None
    groups = calibration_groups({"group_feature": "sex"}, features)
    assert groups.tolist() == ["f", "missing", "m"]
