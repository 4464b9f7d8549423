"""Inference: raw rows and a fitted model to classes and probabilities.

The bundled MLflow model (through the modelling pipeline's inference nodes), the API and
batch scoring all turn raw rows into predictions with these two functions.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from student_performance.core.cleaning import check_columns, normalise_frame
from student_performance.core.conformal import apply_set_calibration, set_labels
from student_performance.models.estimators import OrderedClassifier
from student_performance.schema import DatasetSchema

PREDICTION = "prediction"
PROBA_PREFIX = "proba_"
PREDICTION_SET = "prediction_set"
SET_SEPARATOR = "|"


def prepare_features(
    raw_rows: pd.DataFrame, frozen_schema: dict[str, Any] | DatasetSchema
) -> pd.DataFrame:
    """Clean raw rows exactly as data_processing does, features only.

    Args:
        raw_rows: Raw rows with (at least) the schema's feature columns, as text;
            extra columns such as the target are dropped.
        frozen_schema: The schema the model was trained with (as persisted beside it,
            or already validated).

    Returns:
        The typed feature frame; values outside the allowed sets are NA (imputed by
        the model).
    """
    dataset = (
        frozen_schema
        if isinstance(frozen_schema, DatasetSchema)
        else DatasetSchema.model_validate(frozen_schema)
    )
    features = check_columns(raw_rows, dataset.feature_names, dataset)
    return normalise_frame(features, dataset)


def predict_frame(
    model: OrderedClassifier,
    features: pd.DataFrame,
    set_calibration: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Predicted class, one probability per class and the prediction set, per row.

    Args:
        model: The fitted model.
        features: Output of ``prepare_features``.
        set_calibration: The conformal calibration persisted beside the model
            (``core.conformal.fit_prediction_sets``); ``None``: no set column.

    Returns:
        ``prediction``, ``proba_<class>`` per class, then ``prediction_set`` (the
        set's classes in order, joined by ``|``), same index as ``features``.
    """
    proba = model.predict_proba(features)
    columns = [f"{PROBA_PREFIX}{c}" for c in model.classes_]
    result = pd.DataFrame(proba, columns=columns, index=features.index)
    predicted = model.predict_index(features)
    result.insert(0, PREDICTION, model.classes_[predicted])
    if set_calibration is not None:
        members = apply_set_calibration(proba, set_calibration, predicted)
        result[PREDICTION_SET] = [
            SET_SEPARATOR.join(labels)
            for labels in set_labels(members, list(model.classes_))
        ]
    return result
