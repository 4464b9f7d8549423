"""The training pre-flight: refuse untrainable data before the split and any CV.

A node of its own (not a check inside the split) so that it runs first, says in one
message what the data has and what training needs, and stops the run before
scikit-learn's stratified split or cross-validation fail on the same data with their
own errors and a wall of ``UndefinedMetricWarning``.
"""

from __future__ import annotations

import logging
import math

import pandas as pd

from student_performance.core.params import CVParams, SplitParams
from student_performance.schema import DatasetSchema

from .params import PreflightParams

logger = logging.getLogger(__name__)

MIN_CLASSES = 2  # a classifier needs two classes to tell apart
_NO_ROWS = (
    "; data_processing kept no row: its quarantine (int_quarantined_rows) and quality"
    " report (rpt_data_quality) say why"
)


class UntrainableDataError(ValueError):
    """The primary table cannot train a model: too few rows or classes."""


def _rows_for(development_rows: int, holdout_share: float) -> int:
    """The fewest rows of a class that leave ``development_rows`` after the holdout
    (the stratified split rounds the holdout's share of a class up, at worst)."""
    rows = development_rows
    while rows - math.ceil(rows * holdout_share) < development_rows:
        rows += 1
    return rows


def check_trainable(
    prm_students: pd.DataFrame,
    dataset: DatasetSchema,
    split: SplitParams,
    cv: CVParams,
    preflight: PreflightParams,
) -> pd.DataFrame:
    """Pass the primary table on when a model can be trained on it, else stop.

    Needs at least ``preflight.min_rows`` rows and two target classes, and every
    class present with enough rows to keep ``preflight.min_class_rows`` (default
    ``cv.n_splits``) in the development part after the holdout.

    Args:
        prm_students: The primary table (target column required).
        dataset: The schema (target name and classes).
        split: ``holdout_share``.
        cv: ``n_splits``.
        preflight: The minimums.

    Returns:
        ``prm_students``, unchanged.

    Raises:
        UntrainableDataError: One message with the class counts and what is needed.
    """
    target = dataset.target.name
    counts = prm_students[target].value_counts().reindex(dataset.target.classes)
    counts = counts.fillna(0).astype(int)
    present = counts[counts > 0]
    folds = cv.n_splits
    per_class = preflight.min_class_rows or folds
    class_rows = _rows_for(per_class, split.holdout_share)
    short = present[present < class_rows]
    if (
        len(prm_students) < preflight.min_rows
        or len(present) < MIN_CLASSES
        or len(short)
    ):
        raise UntrainableDataError(
            f"cannot train on {len(prm_students)} rows with target {target!r} classes "
            f"{counts.to_dict()}: training needs at least {preflight.min_rows} rows, "
            f"{MIN_CLASSES} classes, and {class_rows} rows in every class present ({per_class} "
            f"for development after the holdout, one per CV fold: n_splits={folds})"
            + (_NO_ROWS if prm_students.empty else "")
        )
    absent = counts.index[counts == 0].tolist()
    if absent:
        logger.warning("Target classes without rows, never predicted: %s", absent)
    logger.info("Pre-flight: %d rows, classes %s", len(prm_students), counts.to_dict())
    return prm_students
