"""models.metrics: the metrics by name, and the one spelling of names in MLflow."""

from __future__ import annotations

import numpy as np
import pytest

from student_performance.models.metrics import (
    METRICS,
    classification_metrics,
    metric_name,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Class_ X_Percentage", "Class_X_Percentage"),
        ("Gender", "Gender"),
        (" a/b  c ", "a_b_c"),
        ("x-y.z", "x-y_z"),
    ],
)
def test_metric_name_keeps_letters_digits_underscore_and_hyphen(name, expected):
    assert metric_name(name) == expected


def test_classification_metrics_names_every_metric():
    y_true = np.array([0, 1, 2, 2])
    proba = np.full((4, 3), 1 / 3)

    scores = classification_metrics(y_true, np.array([0, 1, 2, 1]), proba, 3)

    assert set(scores) == set(METRICS)
    assert scores["accuracy"] == pytest.approx(0.75)
    assert "f1_macro" in scores and "macro_f1" not in scores
