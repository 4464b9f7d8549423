"""core.inference: raw rows to classes and probabilities, as the served model does."""

from __future__ import annotations

import numpy as np
import pandas as pd

from student_performance.core.inference import predict_frame, prepare_features


def test_prepare_features_cleans_raw_rows_and_drops_the_rest(tiny_raw, tiny_schema):
    before = tiny_raw.copy()

    features = prepare_features(tiny_raw, tiny_schema.model_dump(mode="json"))

    pd.testing.assert_frame_equal(tiny_raw, before)
    assert list(features.columns) == tiny_schema.feature_names
    assert features.loc[1, "sport"] == "no" and features.loc[1, "level"] == "B1"
    assert pd.isna(features.loc[3, "sport"])  # "maybe": not allowed, imputed later


def test_predict_frame_gives_a_class_and_one_probability_per_class(
    tiny_model, tiny_raw, tiny_schema
):
    features = prepare_features(tiny_raw, tiny_schema)

    predictions = predict_frame(tiny_model, features)

    assert list(predictions.columns) == [
        "prediction",
        "proba_low",
        "proba_mid",
        "proba_high",
    ]
    assert predictions.index.equals(features.index)
    assert np.allclose(predictions.filter(like="proba_").sum(axis=1), 1)
    assert set(predictions["prediction"]) <= set(tiny_schema.target.classes)
