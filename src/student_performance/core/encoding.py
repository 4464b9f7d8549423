"""The fitted preprocessing of a model as one look-up table per feature.

The preprocessing of this project's models (impute, one-hot or ordinal codes, scale)
works column by column on categorical features, so each feature's block of the encoded
matrix depends on that feature's value alone. ``tabulate`` runs the fitted preprocessor
once on probe rows covering every value (and missing) of every feature and keeps each
feature's block per value; encoding rows of codes is then one gather instead of pandas
and scikit-learn validation, with the same numbers to the last bit
(``tests/core/test_inference.py`` checks it on many rows, the shipped messy file
included).

Codes are a categorical feature's positions in its categories, ``-1`` for missing:
``Series.cat.codes`` of ``core.inference.prepare_features``' output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

PROBE_ROWS = 512  # random probe rows, beside one row per value of every feature


class LookupEncoder:
    """The fitted preprocessor as one table per feature (codes in, matrix out).

    Args:
        columns: Per feature, the output columns it owns.
        tables: Per feature, its block for each value in category order, then for a
            missing value (code -1 picks the last row).
        width: Number of output columns.
        dtype: The preprocessor's output dtype.
    """

    def __init__(
        self,
        columns: list[np.ndarray],
        tables: list[np.ndarray],
        width: int,
        dtype: np.dtype,
    ) -> None:
        self.columns = columns
        self.tables = tables
        self.width = width
        self.dtype = dtype
        # Every table in one flat array, and for each output column: its feature,
        # where its value for that feature's first row sits, and the step to the
        # next row. Encoding is then one gather for any number of features.
        self._flat = np.concatenate([t.ravel() for t in tables]).astype(dtype)
        self._rows = np.array([len(t) for t in tables], dtype=np.intp)
        self._feature = np.empty(width, dtype=np.intp)
        self._start = np.empty(width, dtype=np.intp)
        self._step = np.empty(width, dtype=np.intp)
        offset = 0
        for j, (owned, table) in enumerate(zip(columns, tables, strict=True)):
            self._feature[owned] = j
            self._start[owned] = offset + np.arange(table.shape[1])
            self._step[owned] = table.shape[1]
            offset += table.size
        # One row: when every feature owns a run of adjacent columns, its encoding
        # is the features' blocks joined in column order (one concatenate).
        order = sorted(range(len(columns)), key=lambda j: int(np.min(columns[j])))
        joined = np.concatenate([np.asarray(columns[j]) for j in order])
        self._row_order = (
            [(j, tables[j]) for j in order]
            if np.array_equal(joined, np.arange(width))
            else None
        )

    def transform(self, codes: np.ndarray) -> np.ndarray:
        """Encode rows of codes (n x features, -1 = missing) into the model matrix.

        Code -1 picks a table's last row (missing), as Python indexing would. The
        matrix is C-ordered like the preprocessor's: the estimator's product then
        sums in the same order, to the same last bit.
        """
        if len(codes) == 1 and self._row_order is not None:
            row = codes[0]
            blocks = [table[row[j]] for j, table in self._row_order]
            return np.concatenate(blocks).astype(self.dtype, copy=False)[None, :]
        rows = (codes % self._rows)[:, self._feature]
        return np.ascontiguousarray(self._flat[self._start + rows * self._step])


def probe_codes(sizes: Sequence[int], n_rows: int, seed: int) -> np.ndarray:
    """Rows of codes: every value and missing of every feature, then random rows."""
    rng = np.random.default_rng(seed)
    cycle = np.array(
        [[(i % (size + 1)) - 1 for size in sizes] for i in range(max(sizes) + 1)]
    )
    random = np.column_stack([rng.integers(-1, size, n_rows) for size in sizes])
    return np.vstack([cycle, random]).astype(np.intp)


def codes_frame(
    codes: np.ndarray, names: Sequence[str], dtypes: Sequence[pd.CategoricalDtype]
) -> pd.DataFrame:
    """The typed feature frame of rows of codes (what ``prepare_features`` gives)."""
    return pd.DataFrame(
        {
            name: pd.Categorical.from_codes(codes[:, j], dtype=dtype)
            for j, (name, dtype) in enumerate(zip(names, dtypes, strict=True))
        }
    )


def _owned_columns(
    matrix: np.ndarray, codes: np.ndarray, sizes: Sequence[int]
) -> list[list[int]] | None:
    """For each feature, the output columns that depend on that feature alone."""
    owned: list[list[int]] = [[] for _ in sizes]
    for column in range(matrix.shape[1]):
        values = matrix[:, column]
        for j, size in enumerate(sizes):
            if all(
                np.unique(values[codes[:, j] == code]).size <= 1
                for code in range(-1, size)
            ):
                owned[j].append(column)
                break
        else:
            return None
    return owned


def tabulate(
    preprocess: Any,
    names: Sequence[str],
    dtypes: Sequence[pd.CategoricalDtype],
    seed: int = 0,
) -> LookupEncoder | None:
    """The fitted preprocessor as a ``LookupEncoder``, or ``None`` when an output
    column depends on more than one feature or is not finite.

    Args:
        preprocess: The fitted preprocessing (``transform`` of a typed frame).
        names: The feature columns, in the order of the codes.
        dtypes: Each feature's categorical dtype (its categories give the codes).
        seed: Of the random probe rows.
    """
    sizes = [len(dtype.categories) for dtype in dtypes]
    codes = probe_codes(sizes, PROBE_ROWS, seed)
    matrix = np.asarray(preprocess.transform(codes_frame(codes, names, dtypes)))
    if matrix.ndim != 2 or not np.isfinite(matrix).all():  # noqa: PLR2004
        return None
    owned = _owned_columns(matrix, codes, sizes)
    if owned is None:
        return None
    tables = []
    for j, size in enumerate(sizes):
        order = list(range(size)) + [-1]
        first = [int(np.flatnonzero(codes[:, j] == code)[0]) for code in order]
        tables.append(matrix[np.ix_(first, owned[j])])
    return LookupEncoder(
        [np.asarray(c, dtype=np.intp) for c in owned],
        tables,
        matrix.shape[1],
        matrix.dtype,
    )
