"""The prediction-set nodes: conformal sets calibrated on out-of-fold probabilities,
and their coverage and size on repeated CV (the engine is ``core.conformal``)."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from student_performance.core.conformal import (
    evaluate_prediction_sets,
    fit_prediction_sets,
    summarise_set_rows,
)
from student_performance.core.params import (
    ConformalParams,
    CVParams,
)
from student_performance.schema import DatasetSchema

logger = logging.getLogger(__name__)


def calibrate_prediction_sets(
    mi_development: pd.DataFrame,
    model_selected_config: dict[str, Any],
    dataset: DatasetSchema,
    conformal: ConformalParams,
    seed: int,
) -> dict[str, Any]:
    """Cross-conformal thresholds of the served model's prediction sets.

    Out-of-fold probabilities of the selected configuration over the development part
    (``inner_splits`` folds): each row is scored by a model not fitted on it.

    Args:
        mi_development: The development part (what the served model is fitted on).
        model_selected_config: Output of ``summarise_candidates``.
        dataset: The schema.
        conformal: ``level``, ``mode``, ``contiguous``, ``inner_splits``.
        seed: Seed of the folds and of the estimator.

    Returns:
        The calibration (level, mode, contiguous, classes, thresholds), persisted
        beside the model and bundled with it.
    """
    calibration = fit_prediction_sets(
        mi_development, dataset, model_selected_config, conformal, seed
    )
    logger.info(
        "Prediction sets at %s: thresholds %s",
        calibration["level"],
        [round(t, 3) for t in calibration["thresholds"]],
    )
    return calibration


def evaluate_set_coverage(
    mi_development: pd.DataFrame,
    model_selected_config: dict[str, Any],
    dataset: DatasetSchema,
    cv: CVParams,
    conformal: ConformalParams,
) -> dict[str, Any]:
    """Coverage and size of the selected model's sets on the selection's repeated CV.

    Each outer fold calibrates its own thresholds on its training rows only.

    Args:
        mi_development: The development part.
        model_selected_config: Output of ``summarise_candidates``.
        dataset: The schema.
        cv: The repeated-CV settings.
        conformal: The set settings.

    Returns:
        ``level``, ``mode``, ``contiguous``, coverage and mean set size (mean and std
        over folds) and per true class.
    """
    rows = cross_validate_sets(
        mi_development, model_selected_config, dataset, cv, conformal
    )
    return summarise_set_coverage(rows, dataset, conformal)


def cross_validate_sets(
    mi_development: pd.DataFrame,
    model_selected_config: dict[str, Any],
    dataset: DatasetSchema,
    cv: CVParams,
    conformal: ConformalParams,
) -> pd.DataFrame:
    """The selected model's out-of-fold rows on the selection's repeated CV: each
    validation row's class, prediction, probabilities and set
    (``core.conformal.evaluate_prediction_sets``); the sets' summary and the group
    report read them."""
    return evaluate_prediction_sets(
        mi_development, dataset, model_selected_config, cv, conformal
    )


def summarise_set_coverage(
    pred_set_rows: pd.DataFrame, dataset: DatasetSchema, conformal: ConformalParams
) -> dict[str, Any]:
    """What ``evaluate_set_coverage`` returns, from ``cross_validate_sets``' rows."""
    conformal = ConformalParams.model_validate(conformal)
    return {
        "level": conformal.level,
        "mode": conformal.mode,
        "contiguous": conformal.contiguous,
        **summarise_set_rows(pred_set_rows, list(dataset.target.classes)),
    }
