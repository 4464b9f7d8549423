"""Nodes of the data_processing pipeline: raw text in, typed and accounted-for rows out.

No column of a particular dataset is named here: everything comes from the
``DatasetSchema`` in conf. The cleaning itself lives in ``student_performance.core``,
shared with the bundled MLflow model, the API and drift monitoring.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from student_performance.core.cleaning import (
    REASON,
    check_columns,
    clean_text,
    invalid_values,
    normalise_frame,
    source_lines,
    source_of,
)
from student_performance.datasets import RawDataError
from student_performance.schema import DatasetSchema, FeatureKind, FeatureSpec

logger = logging.getLogger(__name__)


def check_raw_structure(
    raw_students: pd.DataFrame, dataset: DatasetSchema
) -> pd.DataFrame:
    """Check the raw file's structure and keep the schema's columns.

    Args:
        raw_students: Raw rows as read from the file, every cell as text.
        dataset: The schema (target, features, drop_columns, unknown_columns).

    Returns:
        The target and feature columns, text untouched, indexed by ``source_line``.

    Raises:
        RawDataError: The file has only a header, or its columns do not fit the schema.
    """
    checked = check_columns(raw_students, dataset.columns, dataset)
    if checked.empty:
        raise RawDataError(f"{source_of(raw_students)}: header only, no data rows")
    checked.index = source_lines(len(raw_students))
    logger.info(
        "Checked %s: %d rows, %d of %d columns kept",
        source_of(raw_students),
        len(checked),
        checked.shape[1],
        raw_students.shape[1],
    )
    return checked


def normalise_values(
    int_students_raw: pd.DataFrame,
    dataset: DatasetSchema,
    quality: dict[str, float],
) -> pd.DataFrame:
    """Normalise text, map it to canonical spellings, and type every column.

    Args:
        int_students_raw: Output of ``check_raw_structure``.
        dataset: The schema.
        quality: ``max_missing_share`` and ``max_invalid_share``: a column above either
            share is logged as a WARNING.

    Returns:
        The typed table: categoricals in schema order, numerics as ``Float64``; missing
        tokens and values outside the allowed set are NA.
    """
    typed = normalise_frame(int_students_raw, dataset)
    n_rows = len(typed)
    for name in typed.columns:
        text = clean_text(int_students_raw[name], dataset.missing_tokens)
        missing, invalid = text.isna().sum(), invalid_values(text, typed[name])
        if missing / n_rows > quality["max_missing_share"]:
            logger.warning("Column %r: %d of %d values missing", name, missing, n_rows)
        if invalid.sum() / n_rows > quality["max_invalid_share"]:
            logger.warning(
                "Column %r: %d values not allowed, set to NA: %s",
                name,
                invalid.sum(),
                dict(invalid.head(5)),
            )
    logger.info("Typed %d rows x %d columns", n_rows, typed.shape[1])
    return typed


def quarantine_rows(
    int_students_typed: pd.DataFrame,
    raw_students: pd.DataFrame,
    dataset: DatasetSchema,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Set aside the rows that cannot be used, each with its reason.

    Reasons: ``target_missing``, ``target_invalid`` and, under the ``keep_first``
    duplicates policy, ``duplicate`` (a later copy of a row identical after typing).

    Args:
        int_students_typed: Output of ``normalise_values``.
        raw_students: The raw rows, for the quarantine's copy of the original values.
        dataset: The schema (target name, duplicates policy, missing tokens).

    Returns:
        The primary table (rows kept) and the quarantine: ``source_line`` index, the
        ``reason`` and the original raw row.
    """
    target = dataset.target.name
    raw = raw_students.set_axis(source_lines(len(raw_students)), axis=0)
    raw_target = clean_text(raw[target], dataset.missing_tokens)
    reason = pd.Series(pd.NA, index=int_students_typed.index, dtype="string")
    reason[raw_target.isna()] = "target_missing"
    reason[raw_target.notna() & int_students_typed[target].isna()] = "target_invalid"
    if dataset.duplicates == "keep_first":
        candidates = int_students_typed[reason.isna()]
        reason[candidates.index[candidates.duplicated(keep="first")]] = "duplicate"
    kept = int_students_typed[reason.isna()].copy()
    quarantine = raw[reason.notna()].copy()
    quarantine.insert(0, REASON, reason[reason.notna()])
    logger.info(
        "Kept %d rows, quarantined %d: %s",
        len(kept),
        len(quarantine),
        quarantine[REASON].value_counts().to_dict(),
    )
    return kept, quarantine


def _column_summary(
    text: pd.Series, typed: pd.Series, kept: pd.Series, spec: FeatureSpec | None
) -> dict[str, Any]:
    n_in, n_kept = len(text), len(kept)
    invalid = invalid_values(text, typed)
    summary = {
        "kind": spec.kind.value if spec else "target",
        "missing_before": {
            "count": int(text.isna().sum()),
            "share": _share(text.isna().sum(), n_in),
        },
        "missing_after": {
            "count": int(kept.isna().sum()),
            "share": _share(kept.isna().sum(), n_kept),
        },
        "invalid_values": {str(k): int(v) for k, v in invalid.items()},
    }
    if spec is not None and spec.kind is FeatureKind.NUMERIC:
        numbers = pd.to_numeric(text, errors="coerce")
        summary["numeric_coercion_failures"] = int(
            (text.notna() & numbers.isna()).sum()
        )
    return summary


def _share(count: int, total: int) -> float:
    return round(float(count) / total, 4) if total else 0.0


def build_quality_report(
    raw_students: pd.DataFrame,
    int_students_typed: pd.DataFrame,
    prm_students: pd.DataFrame,
    int_quarantined_rows: pd.DataFrame,
    dataset: DatasetSchema,
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """Account for every raw row and every value the cleaning changed.

    Args:
        raw_students: The raw rows.
        int_students_typed: Output of ``normalise_values``.
        prm_students: Rows kept.
        int_quarantined_rows: Rows set aside, with their ``reason``.
        dataset: The schema.

    Returns:
        The data-quality report and its headline figures as MLflow metrics
        (``{"name": {"value": v, "step": 0}}``).

    Raises:
        ValueError: Rows in is not rows kept plus rows quarantined (a bug, never data).
    """
    rows_in, kept, quarantined = len(raw_students), prm_students, int_quarantined_rows
    accounted = kept.index.union(quarantined.index)
    if len(kept) + len(quarantined) != rows_in or len(accounted) != rows_in:
        raise ValueError(
            f"row accounting broken: {rows_in} in, {len(kept)} kept, "
            f"{len(quarantined)} quarantined"
        )
    by_reason = quarantined[REASON].value_counts().to_dict()
    found = [str(c) for c in raw_students.columns]
    raw = raw_students.set_axis(int_students_typed.index, axis=0)
    columns = {
        name: _column_summary(
            clean_text(raw[name], dataset.missing_tokens),
            int_students_typed[name],
            kept[name],
            None if name == dataset.target.name else dataset.feature(name),
        )
        for name in dataset.columns
    }
    report = {
        "dataset": dataset.name,
        "source_file": source_of(raw_students),
        "encoding": raw_students.attrs.get("encoding", "unknown"),
        "rows_in": rows_in,
        "rows_kept": len(kept),
        "rows_quarantined": len(quarantined),
        "quarantined_by_reason": {str(k): int(v) for k, v in by_reason.items()},
        "duplicates": {
            "policy": dataset.duplicates,
            "quarantined": int(by_reason.get("duplicate", 0)),
        },
        "columns_found": found,
        "columns_dropped": [c for c in found if c not in dataset.columns],
        "columns": columns,
        "values_set_to_na": sum(
            sum(c["invalid_values"].values()) for c in columns.values()
        ),
    }
    metrics = {
        key: {"value": float(report[key]), "step": 0}
        for key in ("rows_in", "rows_kept", "rows_quarantined", "values_set_to_na")
    } | {
        f"quarantined_{reason}": {"value": float(count), "step": 0}
        for reason, count in report["quarantined_by_reason"].items()
    }
    logger.info(
        "Data quality: %d rows in, %d kept, %d quarantined %s",
        rows_in,
        len(kept),
        len(quarantined),
        report["quarantined_by_reason"],
    )
    return report, metrics
