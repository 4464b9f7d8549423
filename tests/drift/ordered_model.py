"""A small real model with the champion's interface (``core.inference.predict_frame``:
``predict_proba``, ``predict_index``, ``classes_``), for the drift tests."""

from __future__ import annotations

from typing import Any

import pandas as pd

from student_performance.models.estimators import OrderedClassifier
from student_performance.schema import DatasetSchema


def ordered_model(primary_table: pd.DataFrame, dataset: DatasetSchema) -> Any:
    """Logistic regression on ordinal codes, wrapped as the champion is, fitted on
    ``primary_table`` in well under a second."""
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import OrdinalEncoder  # noqa: PLC0415

    estimator = make_pipeline(
        OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=-1,
            encoded_missing_value=-1,
        ),
        LogisticRegression(max_iter=1000),
    )
    features = primary_table[dataset.feature_names]
    target = primary_table[dataset.target.name].astype(object)
    return OrderedClassifier(estimator, dataset.target.classes).fit(features, target)
