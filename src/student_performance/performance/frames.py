"""From served predictions (``core.inference.predict_frame``) and true classes to arrays.

The realized and estimated figures work on index arrays; this is the one place that
reads the prediction frame's columns (``prediction``, ``proba_<class>``,
``prediction_set``) back into them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from student_performance.core.distinct import per_distinct_value
from student_performance.core.inference import (
    PREDICTION,
    PREDICTION_SET,
    PROBA_PREFIX,
    SET_SEPARATOR,
)
from student_performance.performance.realized import Outcomes


def class_index(labels: pd.Series | np.ndarray, classes: list[str]) -> np.ndarray:
    """Each class name's position in ``classes`` (lowest first).

    Raises:
        ValueError: A label is not one of ``classes`` (or is missing).
    """
    codes = pd.Index(classes).get_indexer(np.asarray(labels, dtype=object))
    if (codes < 0).any():
        raise ValueError(f"labels outside {classes} (or missing)")
    return codes.astype(int)


def _membership(text: str, classes: list[str]) -> np.ndarray:
    names = set(text.split(SET_SEPARATOR))
    return np.array([name in names for name in classes])


def prediction_arrays(
    predictions: pd.DataFrame, classes: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Probabilities ``(n, k)``, predicted index and set membership (or ``None``).

    Args:
        predictions: Output of ``predict_frame`` (its ``prediction_set`` column is
            optional).
        classes: The target's classes, lowest first.
    """
    proba = predictions[[f"{PROBA_PREFIX}{c}" for c in classes]].to_numpy(float)
    predicted = class_index(predictions[PREDICTION], classes)
    members = None
    if PREDICTION_SET in predictions:
        rows = per_distinct_value(
            predictions[PREDICTION_SET].astype(object),
            lambda texts: pd.Series([_membership(t, classes) for t in texts]),
        )
        members = np.vstack(rows.to_numpy()) if len(rows) else np.zeros(proba.shape)
        members = members.astype(bool)
    return proba, predicted, members


def outcomes_from_predictions(
    predictions: pd.DataFrame, truth: pd.Series | np.ndarray, classes: list[str]
) -> Outcomes:
    """Served predictions with their true class names, as ``Outcomes``."""
    proba, predicted, members = prediction_arrays(predictions, classes)
    return Outcomes(class_index(truth, classes), proba, predicted, members)
