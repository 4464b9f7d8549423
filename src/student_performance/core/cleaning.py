"""Schema-driven cleaning: raw text cells to typed values, the same code everywhere.

The data_processing pipeline, the bundled MLflow model, the API's record validation,
drift monitoring and EDA all clean rows with these functions, so a value means the same
thing in training and at prediction time. No column of a particular dataset is named
here: everything comes from the ``DatasetSchema`` in conf.
"""

from __future__ import annotations

import logging

import pandas as pd

from student_performance.datasets import (  # SOURCE_LINE: the raw rows' index name
    SOURCE_LINE,  # noqa: F401 - re-exported for the modules that index by it
    RawDataError,
)
from student_performance.schema import DatasetSchema, FeatureKind, FeatureSpec

logger = logging.getLogger(__name__)

REASON = "reason"
RAW_INPUT = "raw input"  # the source named in messages when rows come from no file


def header_key(name: str) -> str:
    """A column name as compared by header matching: trimmed, inner white space
    collapsed to one space, case-folded (``" class_  x_percentage"`` and
    ``"Class_ X_Percentage"`` give the same key)."""
    return " ".join(str(name).split()).casefold()


def match_headers(
    found: list[str], dataset: DatasetSchema, source: str = RAW_INPUT
) -> dict[str, str]:
    """Raw column names that name a schema column up to case and white space.

    Args:
        found: The raw file's column names, in order.
        dataset: The schema (its columns and ``drop_columns``).
        source: The file, for the error message.

    Returns:
        ``{raw name: schema name}`` for the names that differ from their schema
        column; names already equal to one are not listed.

    Raises:
        RawDataError: Two raw columns match the same schema column.
    """
    known = {header_key(c): c for c in [*dataset.columns, *dataset.drop_columns]}
    matches: dict[str, list[str]] = {}
    for name in map(str, found):
        if header_key(name) in known:
            matches.setdefault(known[header_key(name)], []).append(name)
    clashes = {name: raw for name, raw in matches.items() if len(raw) > 1}
    if clashes:
        listed = "; ".join(f"{raw} all match {name!r}" for name, raw in clashes.items())
        raise RawDataError(
            f"{source}: two raw columns match one schema column ({listed}; names "
            "compared after trimming, case-folding and collapsing spaces): keep one"
        )
    return {raw[0]: name for name, raw in matches.items() if raw[0] != name}


def harmonise_headers(
    raw: pd.DataFrame, dataset: DatasetSchema, source: str = RAW_INPUT
) -> pd.DataFrame:
    """Rename raw columns to the schema's spelling (``match_headers``), with a WARNING
    per renamed column.

    Args:
        raw: Raw rows, every cell as text.
        dataset: The schema.
        source: The file, for messages.

    Returns:
        A new frame, same values, columns renamed.

    Raises:
        RawDataError: See ``match_headers``.
    """
    renamed = match_headers(list(raw.columns), dataset, source)
    for before, after in renamed.items():
        logger.warning("%s: column %r read as the schema's %r", source, before, after)
    return raw.rename(columns=renamed)


def check_columns(
    raw: pd.DataFrame,
    required: list[str],
    dataset: DatasetSchema,
    source: str = RAW_INPUT,
) -> pd.DataFrame:
    """Check a raw frame's columns and return the required ones, in that order.

    Args:
        raw: Raw rows, every cell as text.
        required: Columns that must be present.
        dataset: Schema fields ``drop_columns`` and ``unknown_columns``.
        source: Where the rows come from (a file), named in the messages.

    Returns:
        A new frame with the ``required`` columns only, same index.

    Raises:
        RawDataError: A single column (wrong delimiter), missing or repeated required
            columns, or unknown columns when the schema says ``unknown_columns: error``.
    """
    found = [str(c) for c in raw.columns]
    if len(found) == 1 and len(required) > 1:
        raise RawDataError(
            f"{source}: found a single column {found[0]!r} where {len(required)} are "
            "expected: is the delimiter wrong? The file must be comma-separated."
        )
    missing = [c for c in required if c not in found]
    if missing:
        raise RawDataError(
            f"{source}: required columns missing: {missing}; columns found: {found}"
        )
    repeated = [c for c in required if found.count(c) > 1]
    if repeated:
        raise RawDataError(f"{source}: columns {repeated} appear more than once")
    unknown = [
        c for c in found if c not in dataset.columns + list(dataset.drop_columns)
    ]
    if unknown and dataset.unknown_columns == "error":
        raise RawDataError(f"{source}: unknown columns {unknown} (schema says: error)")
    if unknown:
        logger.warning("%s: unknown columns dropped: %s", source, unknown)
    return raw.loc[:, required].copy()


def clean_text(values: pd.Series, missing_tokens: tuple[str, ...]) -> pd.Series:
    """Strip, collapse inner white space, and turn missing tokens into NA.

    Args:
        values: Raw text values.
        missing_tokens: Spellings that mean missing, matched case-insensitively.

    Returns:
        A ``string`` series with the same index.
    """
    text = values.astype("string").str.strip().str.replace(r"\s+", " ", regex=True)
    tokens = {t.casefold() for t in missing_tokens}
    return text.mask(text.str.casefold().isin(tokens))


def _to_categorical(
    text: pd.Series, values: tuple[str, ...], ordered: bool
) -> pd.Series:
    canonical = {v.casefold(): v for v in values}
    mapped = text.str.casefold().map(canonical)
    return pd.Series(
        pd.Categorical(mapped, categories=list(values), ordered=ordered),
        index=text.index,
        name=text.name,
    )


def _to_numeric(text: pd.Series, spec: FeatureSpec) -> pd.Series:
    number = pd.to_numeric(text, errors="coerce").astype("Float64")
    low = spec.min if spec.min is not None else -float("inf")
    high = spec.max if spec.max is not None else float("inf")
    return number.where(number.between(low, high))


def type_column(text: pd.Series, spec: FeatureSpec) -> pd.Series:
    """Type one cleaned text column as the schema says; values not allowed become NA.

    Args:
        text: Output of ``clean_text``.
        spec: The feature's kind, allowed values or order, numeric range.

    Returns:
        Categorical (ordered for ordinal features) or ``Float64`` series.
    """
    if spec.kind is FeatureKind.NUMERIC:
        return _to_numeric(text, spec)
    return _to_categorical(text, spec.values, spec.kind is FeatureKind.ORDINAL)


def normalise_frame(raw: pd.DataFrame, dataset: DatasetSchema) -> pd.DataFrame:
    """Clean and type every schema column present in ``raw``.

    Args:
        raw: Raw text columns (target and/or features).
        dataset: The schema.

    Returns:
        A new frame, same index and columns, typed as the schema says.
    """
    typed = {}
    for name in raw.columns:
        text = clean_text(raw[name], dataset.missing_tokens)
        if name == dataset.target.name:
            target = dataset.target
            typed[name] = _to_categorical(text, target.classes, target.ordinal)
        else:
            typed[name] = type_column(text, dataset.feature(name))
    return pd.DataFrame(typed, index=raw.index)


def invalid_values(text: pd.Series, typed: pd.Series) -> pd.Series:
    """Counts of the cleaned values that typing turned into NA, most frequent first."""
    return text[text.notna() & typed.isna()].value_counts()
