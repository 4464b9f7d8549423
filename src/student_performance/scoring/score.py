"""Scoring one piece of raw records: reject what cannot be scored, predict the rest.

``score_piece`` is the one function both engines run per partition (in this process or
on a Dask worker), so they give the same answer for the same piece. It returns a single
frame holding every record of the piece, scored or rejected (``split_results`` makes the
two outputs); ``result_columns`` gives its shape for Dask's ``meta``.

What is rejected (``reason``), following the data rules of serving and data_processing:

- ``malformed_record``: a CSV record whose field count differs from the header's;
- ``unknown_value``: a present value the frozen schema does not allow (a categorical
  value outside its allowed set, a number that is not one or is out of range) - the
  API answers such a record with 422; ``detail`` names each column and value.

Missing values (empty cells, missing tokens) are not a reason: the model imputes them,
as it does for the API. The target column, when present, is ignored.

Inference runs once per distinct cleaned feature row of the piece, then is spread back
to every record: the model's answer for a row depends on that row alone, and a large
cohort holds far fewer distinct answer sheets than records.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from student_performance.batch.cleaning import clean_rows, clean_spellings
from student_performance.batch.records import (
    RAW_COLUMNS,
    RAW_RECORD,
    SOURCE_FILE,
    SOURCE_LINE,
    empty_piece,
)
from student_performance.core.distinct import per_distinct_row
from student_performance.core.inference import predict_frame
from student_performance.schema import DatasetSchema

REASON, DETAIL = "reason", "detail"
MALFORMED, UNKNOWN_VALUE = "malformed_record", "unknown_value"
MODEL_NAME, MODEL_VERSION, SCORED_AT = "model_name", "model_version", "scored_at"
REJECTED_COLUMNS = [SOURCE_FILE, SOURCE_LINE, REASON, DETAIL, RAW_RECORD]
STAMP_COLUMNS = [MODEL_NAME, MODEL_VERSION, SCORED_AT]


def _predict_distinct(
    model: Any, features: pd.DataFrame, sets: dict[str, Any] | None
) -> pd.DataFrame:
    """``core.inference.predict_frame`` on the distinct rows, spread back to all."""
    return per_distinct_row(features, lambda rows: predict_frame(model, rows, sets))


def _empty_predictions(
    model: Any, dataset: DatasetSchema, sets: dict[str, Any] | None
) -> pd.DataFrame:
    """``predict_frame``'s columns and dtypes, with no rows."""
    blank = pd.DataFrame({name: [""] for name in dataset.feature_names}, dtype="string")
    typed, _ = clean_rows(blank, dataset)
    return predict_frame(model, typed[dataset.feature_names], sets).iloc[:0]


def _details(
    codes: dict[str, np.ndarray], invalid: pd.DataFrame, index: pd.Index
) -> pd.Series:
    """``column='value'; ...`` for each row with a value the schema does not allow.

    Args:
        codes: Per column, each row's spelling code (``clean_spellings``).
        invalid: Per code, the cleaned spelling when the schema does not allow it.
        index: The rows' labels.

    Returns:
        The rows with such a value (in order), each column's in column order.
    """
    found: dict[int, list[str]] = {}
    for name, column_codes in codes.items():
        bad = invalid[name].notna().to_numpy()
        if not bad.any():
            continue
        spellings = invalid[name].to_numpy()
        hit = np.flatnonzero(bad[column_codes] & (column_codes >= 0))
        for row in hit:
            found.setdefault(int(row), []).append(
                f"{name}={spellings[column_codes[row]]!r}"
            )
    rows = sorted(found)
    return pd.Series(
        ["; ".join(found[row]) for row in rows], index=index[rows], dtype="string"
    )


def _reasons(raw: pd.DataFrame, dataset: DatasetSchema):
    """Typed scorable rows, and each record's reason and detail (NA: scorable).

    A malformed record's features are missing, so cleaning every row finds no value
    the schema does not allow in it; it is set aside by its ``raw_record``.
    """
    reason = pd.Series(pd.NA, index=raw.index, dtype="string")
    detail = pd.Series(pd.NA, index=raw.index, dtype="string")
    malformed = raw[RAW_RECORD].notna().to_numpy()
    reason[malformed] = MALFORMED
    detail[malformed] = "field count differs from the header's"
    if malformed.all():
        return raw.loc[[], dataset.feature_names], reason, detail
    typed, codes, invalid = clean_spellings(raw[dataset.feature_names], dataset)
    found = _details(codes, invalid, raw.index)
    reason[found.index] = UNKNOWN_VALUE
    detail[found.index] = found
    return typed.loc[reason.isna().to_numpy(), dataset.feature_names], reason, detail


def score_piece(
    raw: pd.DataFrame,
    model: Any,
    schema: dict[str, Any],
    stamp: dict[str, Any],
    sets: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Every record of a piece, scored or rejected.

    Args:
        raw: A piece as ``RawBatch.read_piece`` gives it: ``source_file``,
            ``source_line``, the features as text, ``raw_record``.
        model: The fitted model (``predict_proba``, ``predict_index``, ``classes_``).
        schema: The dataset schema the model was trained with (as persisted).
        stamp: ``model_name``, ``model_version`` and ``scored_at`` (UTC timestamp),
            written on every scored record.
        sets: The model's prediction-set calibration; ``None``: no set column.

    Returns:
        ``source_file``, ``source_line``, ``reason``, ``detail``, ``raw_record`` (NA
        on scored records), ``predict_frame``'s columns (``prediction``, the
        probabilities, ``prediction_set``; NA on rejected records), then
        the stamp's columns; same order as ``raw``.
    """
    dataset = DatasetSchema.model_validate(schema)
    features, reason, detail = _reasons(raw, dataset)
    predictions = (
        _predict_distinct(model, features, sets)
        if len(features)
        else _empty_predictions(model, dataset, sets)
    )
    result = raw[RAW_COLUMNS].copy()
    result[REASON], result[DETAIL], result[RAW_RECORD] = reason, detail, raw[RAW_RECORD]
    result = result.join(predictions)
    result[MODEL_NAME] = pd.Series(
        stamp[MODEL_NAME], index=result.index, dtype="string"
    )
    result[MODEL_VERSION] = pd.Series(
        stamp[MODEL_VERSION], index=result.index, dtype="string"
    )
    result[SCORED_AT] = pd.Series(stamp[SCORED_AT], index=result.index).astype(
        "datetime64[us, UTC]"
    )
    return result.reset_index(drop=True)


def result_columns(
    model: Any,
    schema: dict[str, Any],
    stamp: dict[str, Any],
    sets: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """``score_piece``'s output with no rows (Dask's ``meta``)."""
    features = DatasetSchema.model_validate(schema).feature_names
    return score_piece(empty_piece(features), model, schema, stamp, sets)


def scored_records(result: pd.DataFrame) -> pd.DataFrame:
    """The scored records of ``score_piece``'s output: every column but ``reason``,
    ``detail`` and ``raw_record`` (so a column added to ``predict_frame`` appears here
    with no change)."""
    scored_columns = [c for c in result.columns if c not in REJECTED_COLUMNS[2:]]
    return result.loc[result[REASON].isna().to_numpy(), scored_columns].reset_index(
        drop=True
    )


def rejected_records(result: pd.DataFrame) -> pd.DataFrame:
    """The rejected records of ``score_piece``'s output: ``source_file``,
    ``source_line``, ``reason``, ``detail``, ``raw_record``."""
    return result.loc[result[REASON].notna().to_numpy(), REJECTED_COLUMNS].reset_index(
        drop=True
    )


def split_results(result: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``scored_records`` and ``rejected_records`` of ``score_piece``'s output."""
    return scored_records(result), rejected_records(result)


def count_piece(result: pd.DataFrame) -> dict[str, Any]:
    """``rows_in`` and ``rejected_by_reason`` of one piece's ``score_piece`` output."""
    reasons = result[REASON].value_counts()
    return {
        "rows_in": len(result),
        "rejected_by_reason": {str(k): int(v) for k, v in reasons.items()},
    }
