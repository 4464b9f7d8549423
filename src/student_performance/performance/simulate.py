"""Labelled batches with a known shift, to check realized and estimated performance.

Two kinds, each seeded and with an ``intensity`` in [0, 1] (0: no shift):

- covariate shift: rows drawn (with replacement) so that the share of rows whose
  ``feature`` is in ``values`` moves from its share in the source (intensity 0) to 1
  (intensity 1); every row keeps its own true class, so calibrated probabilities stay
  calibrated and an estimate from them should follow the realized figures;
- concept shift: rows drawn uniformly (with replacement); for those whose ``feature``
  is in ``values`` the true class moves ``step`` classes (clipped to the ends) with
  probability ``intensity``. The features, hence the probabilities, do not change;
  the truth does, so the estimate stays while the realized figures fall.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from student_performance.frozen import Frozen
from student_performance.schema import DatasetSchema


class ShiftParams(Frozen):
    """Which rows a shift concerns, how hard it is, and the batch's size and seed."""

    feature: str
    values: list[str] = Field(min_length=1)
    intensity: float = Field(ge=0, le=1)
    n_rows: int = Field(gt=0)
    seed: int = 0


class ConceptShiftParams(ShiftParams):
    """A concept shift: the concerned rows' class moves ``step`` classes."""

    step: Literal[-1, 1] = -1


def _concerned(frame: pd.DataFrame, params: ShiftParams) -> np.ndarray:
    if params.feature not in frame or not len(frame):
        raise ValueError(f"no rows or no column {params.feature!r}")
    return frame[params.feature].astype(object).isin(params.values).to_numpy(bool)


def covariate_shift(frame: pd.DataFrame, params: ShiftParams) -> pd.DataFrame:
    """``params.n_rows`` rows of ``frame`` favouring the concerned ones.

    Args:
        frame: Typed rows with the target column (the source population).
        params: Feature, values, intensity, rows, seed.

    Returns:
        The batch (``frame``'s columns, a fresh index), each row with its own class.
        The concerned rows' expected share is
        ``(1 - intensity) * share_in_frame + intensity``.

    Raises:
        ValueError: No row of ``frame`` is concerned (or no row at all).
    """
    concerned = _concerned(frame, params)
    base = concerned.mean()
    target = (1 - params.intensity) * base + params.intensity
    if not concerned.any():
        raise ValueError(f"{params.feature} in {params.values}: no rows to shift")
    weights = np.where(
        concerned, target / concerned.sum(), (1 - target) / max((~concerned).sum(), 1)
    )
    rng = np.random.default_rng(params.seed)
    picked = rng.choice(len(frame), size=params.n_rows, p=weights / weights.sum())
    return frame.iloc[picked].reset_index(drop=True)


def concept_shift(
    frame: pd.DataFrame, params: ConceptShiftParams, dataset: DatasetSchema
) -> pd.DataFrame:
    """``params.n_rows`` rows of ``frame`` whose concerned rows' class may move.

    Args:
        frame: Typed rows with the target column (the source population).
        params: Feature, values, intensity (the probability that a concerned row's
            class moves), step, rows, seed.
        dataset: The schema (the target's name and classes, lowest first).

    Returns:
        The batch (``frame``'s columns and dtypes, a fresh index) with its true,
        shifted classes; a class at the end it would move past stays.
    """
    rng = np.random.default_rng(params.seed)
    batch = frame.iloc[rng.integers(0, len(frame), params.n_rows)].reset_index(
        drop=True
    )
    classes = list(dataset.target.classes)
    target = dataset.target.name
    index = batch[target].astype(object).map(classes.index).to_numpy(dtype=int)
    moves = _concerned(batch, params) & (rng.random(len(batch)) < params.intensity)
    index = np.where(moves, np.clip(index + params.step, 0, len(classes) - 1), index)
    shifted = pd.Series(np.asarray(classes, dtype=object)[index], index=batch.index)
    batch[target] = shifted.astype(batch[target].dtype)
    return batch
