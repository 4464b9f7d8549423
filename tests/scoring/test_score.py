"""Scoring one piece: what is rejected and why, what is scored and how."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from student_performance.batch.records import empty_piece
from student_performance.core.inference import predict_frame, prepare_features
from student_performance.scoring.score import (
    MALFORMED,
    UNKNOWN_VALUE,
    score_piece,
    split_results,
)

STAMP = {
    "model_name": "m",
    "model_version": "3",
    "scored_at": pd.Timestamp("2026-01-02T03:04:05", tz="UTC"),
}


def _piece(features: list[str], rows: list[dict], raw: list) -> pd.DataFrame:
    frame = empty_piece(features)
    data = pd.DataFrame(rows, columns=features, dtype="string")
    data.insert(0, "source_file", pd.array(["f.csv"] * len(rows), dtype="string"))
    data.insert(1, "source_line", np.arange(2, 2 + len(rows), dtype="int64"))
    data["raw_record"] = pd.array(raw, dtype="string")
    return pd.concat([frame, data], ignore_index=True)


@pytest.fixture
def piece(dataset_schema) -> pd.DataFrame:
    features = dataset_schema.feature_names
    rows = [
        {"Gender": " MALE ", "Caste": "obc", "time": "two", "medium": "english"},
        {"Gender": "female", "Caste": "Brahmin", "time": "TEN"},  # not allowed
        {},  # malformed: its cells are NA, raw_record holds the line
        {"Gender": "nan", "Caste": " sc "},  # a missing token: imputed, scored
        {"Gender": " MALE ", "Caste": "obc", "time": "two", "medium": "english"},
    ]
    return _piece(features, rows, [None, None, "a,b,c", None, None])


def test_rejects_malformed_and_unknown_values_and_scores_the_rest(piece, scoring_model):
    result = score_piece(piece, scoring_model.model, scoring_model.schema, STAMP)
    scored, rejected = split_results(result)

    assert rejected["source_line"].tolist() == [3, 4]
    assert rejected["reason"].tolist() == [UNKNOWN_VALUE, MALFORMED]
    assert rejected["detail"][0] == "Caste='Brahmin'; time='TEN'"
    assert rejected["raw_record"].tolist()[1] == "a,b,c"
    assert scored["source_line"].tolist() == [2, 5, 6]
    assert len(scored) + len(rejected) == len(piece)
    assert (scored["model_version"] == "3").all()
    assert (scored["scored_at"] == STAMP["scored_at"]).all()


def test_scores_are_the_core_inference_on_the_same_rows(piece, scoring_model):
    model = scoring_model
    scored, _ = split_results(
        score_piece(piece, model.model, model.schema, STAMP, model.sets)
    )
    kept = piece.iloc[[0, 3, 4]][model.dataset.feature_names]
    expected = predict_frame(
        model.model, prepare_features(kept, model.schema), model.sets
    ).reset_index(drop=True)

    # the prediction set the API gives, classes in order joined by "|"
    assert "prediction_set" in expected.columns
    assert all(
        prediction in answer.split("|")
        for prediction, answer in zip(
            scored["prediction"], scored["prediction_set"], strict=True
        )
    )
    pd.testing.assert_frame_equal(
        scored[expected.columns].astype(
            {"prediction": object, "prediction_set": object}
        ),
        expected.astype({"prediction": object, "prediction_set": object}),
        check_exact=False,
        rtol=1e-12,
    )
    assert np.allclose(scored.filter(like="proba_").sum(axis=1), 1.0)


def test_an_empty_piece_has_the_full_shape(scoring_model):
    features = scoring_model.dataset.feature_names
    result = score_piece(
        empty_piece(features), scoring_model.model, scoring_model.schema, STAMP
    )
    scored, rejected = split_results(result)
    assert result.empty
    assert "prediction" in scored.columns
    assert [f"proba_{c}" for c in scoring_model.model.classes_] == [
        c for c in scored.columns if c.startswith("proba_")
    ]
    assert list(rejected.columns) == [
        "source_file",
        "source_line",
        "reason",
        "detail",
        "raw_record",
    ]


def test_never_mutates_the_piece(piece, scoring_model):
    before = piece.copy()
    score_piece(piece, scoring_model.model, scoring_model.schema, STAMP)
    pd.testing.assert_frame_equal(piece, before)
