"""Compute once per distinct value, spread the result back to every row.

Batches repeat themselves: a million records of this schema hold a few thousand
distinct rows and a few dozen spellings per column. Cleaning, encoding and scoring
run on the distinct ones; these two helpers are the one place that does the
bookkeeping (pandas has no "apply on unique rows, broadcast back" of its own).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def row_keys(frame: pd.DataFrame) -> np.ndarray:
    """One integer per row, equal for rows equal in every column (NA included)."""
    codes = [pd.factorize(frame[name], use_na_sentinel=True)[0] for name in frame]
    sizes = [int(column.max(initial=-1)) + 2 for column in codes]
    if float(np.prod(np.asarray(sizes, dtype=float))) < 2**62:
        key = np.zeros(len(frame), dtype=np.int64)
        for column, size in zip(codes, sizes, strict=True):
            key = key * size + (column.astype(np.int64) + 1)
        return key
    matrix = np.column_stack(codes) if codes else np.zeros((len(frame), 0))
    return np.unique(matrix, axis=0, return_inverse=True)[1].ravel()


def per_distinct_row(
    frame: pd.DataFrame, compute: Callable[[pd.DataFrame], pd.DataFrame]
) -> pd.DataFrame:
    """``compute`` on the distinct rows of ``frame``, one result row per input row.

    Args:
        frame: The rows; equal rows (NA equal to NA) are computed once.
        compute: Takes a frame of distinct rows, returns one row per row, in order.

    Returns:
        ``compute``'s columns on ``frame``'s index.
    """
    keys = row_keys(frame)
    distinct_keys, first, inverse = np.unique(
        keys, return_index=True, return_inverse=True
    )
    result = compute(frame.iloc[first]).iloc[inverse.ravel()]
    result.index = frame.index
    return result


def per_distinct_value(
    values: pd.Series, compute: Callable[[pd.Series], pd.Series]
) -> pd.Series:
    """``compute`` on the distinct values of one column, spread back to every row.

    Missing values are passed to ``compute`` once, as a missing value, so that it
    decides what they become.

    Args:
        values: The column.
        compute: Takes the distinct values, returns one value per value, in order.

    Returns:
        ``compute``'s values on ``values``' index, named as ``values``.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype=values.dtype)
    if (codes < 0).any():
        distinct = pd.concat([distinct, pd.Series([pd.NA], dtype=values.dtype)])
        codes = np.where(codes < 0, len(uniques), codes)
    computed = compute(distinct.reset_index(drop=True))
    return pd.Series(computed.array.take(codes), index=values.index, name=values.name)
