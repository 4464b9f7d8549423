"""Served predictions (core.inference.predict_frame's columns) back to index arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from student_performance.performance.frames import (
    class_index,
    outcomes_from_predictions,
    prediction_arrays,
)

CLASSES = ["Average", "Good", "Vg", "Excellent"]


def _predictions(with_sets: bool = True) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "prediction": ["Good", "Excellent", "Good"],
            "proba_Average": [0.2, 0.0, 0.1],
            "proba_Good": [0.5, 0.1, 0.6],
            "proba_Vg": [0.2, 0.3, 0.2],
            "proba_Excellent": [0.1, 0.6, 0.1],
            "prediction_set": ["Average|Good|Vg", "Vg|Excellent", "Average|Good|Vg"],
        },
        index=[10, 11, 12],
    )
    return frame if with_sets else frame.drop(columns="prediction_set")


def test_prediction_columns_become_arrays():
    proba, predicted, members = prediction_arrays(_predictions(), CLASSES)
    assert proba.shape == (3, 4)
    assert np.allclose(proba.sum(axis=1), 1)
    assert predicted.tolist() == [1, 3, 1]
    assert members.tolist() == [
        [True, True, True, False],
        [False, False, True, True],
        [True, True, True, False],
    ]
    assert prediction_arrays(_predictions(False), CLASSES)[2] is None


def test_outcomes_carry_the_true_class_index():
    outcomes = outcomes_from_predictions(
        _predictions(), pd.Series(["Vg", "Excellent", "Average"]), CLASSES
    )
    assert outcomes.truth.tolist() == [2, 3, 0]
    assert outcomes.n_classes == 4


def test_an_unknown_class_is_refused():
    with pytest.raises(ValueError, match="labels outside"):
        class_index(pd.Series(["Good", "Great"]), CLASSES)
    with pytest.raises(ValueError, match="labels outside"):
        class_index(pd.Series(["Good", None]), CLASSES)
