"""A batch of raw text rows to typed columns, cleaned as training cleans.

Cleaning uses the core cleaning helpers (``check_columns``, ``normalise_frame``) so
that a messy batch is read exactly as the training file was. They run on each column's
distinct raw spellings, not on every row: a batch of a million rows holds a few dozen
spellings per categorical column, so cleaning costs about one ``pd.factorize``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from student_performance.core.cleaning import (
    check_columns,
    clean_text,
    normalise_frame,
)
from student_performance.schema import DatasetSchema

UNSEEN_COLUMNS = ["column", "value", "count"]


def empty_unseen() -> pd.DataFrame:
    """An empty unseen-values table."""
    return pd.DataFrame(
        {
            "column": pd.Series(dtype="string"),
            "value": pd.Series(dtype="string"),
            "count": pd.Series(dtype="int64"),
        }
    )


def batch_columns(raw: pd.DataFrame, dataset: DatasetSchema) -> list[str]:
    """The schema columns to read from a batch: the target when present, the features."""
    target = [dataset.target.name] if dataset.target.name in raw.columns else []
    return target + dataset.feature_names


def _expand(typed_uniques: pd.Series, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Map the typed distinct values back onto every row (code -1 = missing)."""
    if isinstance(typed_uniques.dtype, pd.CategoricalDtype):
        unique_codes = np.append(typed_uniques.cat.codes.to_numpy(), -1)
        values = pd.Categorical.from_codes(
            unique_codes[codes], dtype=typed_uniques.dtype
        )
    else:
        values = typed_uniques.array.take(codes, allow_fill=True)
    return pd.Series(values, index=index, name=typed_uniques.name)


def _distinct_spellings(
    checked: pd.DataFrame,
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Each column's codes, and a frame of its distinct raw spellings (NA-padded)."""
    codes, uniques = {}, {}
    for name in checked.columns:
        codes[name], found = pd.factorize(checked[name].astype("string"))
        uniques[name] = pd.Series(found, dtype="string")
    longest = max((len(u) for u in uniques.values()), default=0)
    return codes, pd.DataFrame(
        {n: u.reindex(range(longest)) for n, u in uniques.items()}
    )


def _invalid_spellings(
    distinct: pd.DataFrame, typed: pd.DataFrame, dataset: DatasetSchema
) -> pd.DataFrame:
    """Per distinct spelling: its cleaned text where typing turned it into NA, else NA."""
    text = clean_text(distinct.stack(future_stack=True), dataset.missing_tokens)
    text = text.unstack().reindex(index=distinct.index, columns=distinct.columns)
    return text.where(text.notna() & typed.isna().to_numpy())


def clean_spellings(
    raw: pd.DataFrame, dataset: DatasetSchema
) -> tuple[pd.DataFrame, dict[str, np.ndarray], pd.DataFrame]:
    """The typed batch, each column's spelling codes, and the invalid spellings.

    Args:
        raw: Raw rows, every cell as text (see ``clean_rows``).
        dataset: The schema.

    Returns:
        The typed batch (as ``clean_rows``); per column, each row's code into the
        column's distinct spellings (-1: missing); and a frame of those spellings
        (one row per code, NA-padded) holding the cleaned text of each spelling the
        schema does not allow, NA elsewhere.
    """
    checked = check_columns(raw, batch_columns(raw, dataset), dataset)
    codes, distinct = _distinct_spellings(checked)
    typed_distinct = normalise_frame(distinct, dataset)
    typed = pd.DataFrame(
        {
            name: _expand(typed_distinct[name], column_codes, checked.index)
            for name, column_codes in codes.items()
        },
        index=checked.index,
    )
    return typed, codes, _invalid_spellings(distinct, typed_distinct, dataset)


def clean_rows(
    raw: pd.DataFrame, dataset: DatasetSchema
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check, clean and type a raw batch, row by row.

    Args:
        raw: Raw rows, every cell as text; every feature column must be present, the
            target may be absent (then only input and prediction drift are measured).
        dataset: The schema (features, target, missing tokens, column policies).

    Returns:
        The typed batch (target first when present, then the features, typed like the
        primary table), and a frame of the same shape holding, where the schema does
        not allow a value, its cleaned spelling (NA elsewhere); such values are NA in
        the typed batch.

    Raises:
        RawDataError: Feature columns missing (the message names them and the columns
            found), or unknown columns under ``unknown_columns: error``.
    """
    typed, codes, invalid_distinct = clean_spellings(raw, dataset)
    invalid = {
        name: _expand(invalid_distinct[name], column_codes, typed.index)
        for name, column_codes in codes.items()
    }
    return typed, pd.DataFrame(invalid, index=typed.index)


def _table(found: list[tuple[str, str, int]]) -> pd.DataFrame:
    if not found:
        return empty_unseen()
    table = pd.DataFrame(found, columns=UNSEEN_COLUMNS)
    table = table.groupby(["column", "value"], sort=False, as_index=False)[
        "count"
    ].sum()
    return table.astype({"column": "string", "value": "string", "count": "int64"})


def unseen_table(invalid: pd.DataFrame) -> pd.DataFrame:
    """Counts of the values not allowed, per column and cleaned spelling.

    Args:
        invalid: ``clean_rows``' second output.

    Returns:
        ``column``, ``value``, ``count``.
    """
    stacked = invalid.stack(future_stack=True).dropna()
    counts = stacked.groupby([stacked.index.get_level_values(-1), stacked]).size()
    return _table([(str(c), str(v), int(n)) for (c, v), n in counts.items()])


def clean_batch(
    raw: pd.DataFrame, dataset: DatasetSchema
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check, clean and type a raw batch; count the values the schema does not allow.

    The counts come from the spelling codes, so a large batch is never expanded into
    a frame of text.

    Args:
        raw: Raw rows, every cell as text (see ``clean_rows``).
        dataset: The schema.

    Returns:
        The typed batch and the unseen raw values (as ``unseen_table``).

    Raises:
        RawDataError: See ``clean_rows``.
    """
    typed, codes, invalid_distinct = clean_spellings(raw, dataset)
    found = []
    for name, column_codes in codes.items():
        spellings = invalid_distinct[name].dropna()
        if spellings.empty:
            continue
        counts = np.bincount(
            column_codes[column_codes >= 0], minlength=len(invalid_distinct)
        )
        found += [(name, str(v), int(counts[i])) for i, v in spellings.items()]
    return typed, _table(found)
