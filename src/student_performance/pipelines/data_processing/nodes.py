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
    harmonise_headers,
    invalid_values,
    match_headers,
    normalise_frame,
)
from student_performance.datasets import SOURCE_LINE, RawDataError, RawSource
from student_performance.schema import DatasetSchema, FeatureKind, FeatureSpec

from .params import QualityParams

logger = logging.getLogger(__name__)

MALFORMED = "malformed_record"
DETAIL, RAW_TEXT = "detail", "raw_text"  # quarantine columns of a malformed record
_SHOWN = 3  # malformed records quoted in an error message


def _check_malformed_share(source: RawSource, max_share: float) -> None:
    """Stop when too many records are malformed, naming the first ones."""
    n_bad = len(source.malformed)
    if not n_bad or n_bad / source.records <= max_share:
        return
    first = "; ".join(
        f"line {m.line} ({m.problem}): {m.text[:80]!r}"
        for m in source.malformed[:_SHOWN]
    )
    raise RawDataError(
        f"{source.file}: {n_bad} of {source.records} records are malformed "
        f"({n_bad / source.records:.0%}, more than max_malformed_share "
        f"{max_share:.0%}): is the delimiter or the quoting wrong? First: {first}"
    )


def check_raw_structure(
    raw_students: pd.DataFrame,
    raw_students_source: RawSource,
    dataset: DatasetSchema,
    quality: QualityParams,
) -> pd.DataFrame:
    """Check the raw file's structure and keep the schema's columns.

    Args:
        raw_students: Raw rows as read from the file, every cell as text, indexed by
            ``source_line``.
        raw_students_source: The file, its encoding, record count, malformed records.
        dataset: The schema (target, features, drop_columns, unknown_columns).
        quality: ``max_malformed_share`` and ``tolerant_headers``.

    Returns:
        The target and feature columns under the schema's names, text untouched,
        indexed by ``source_line``.

    Raises:
        RawDataError: The file has only a header, too many malformed records, or
            columns that do not fit the schema.
    """
    source = raw_students_source
    if source.records == 0:
        raise RawDataError(f"{source.file}: header only, no data rows")
    _check_malformed_share(source, quality.max_malformed_share)
    raw = (
        harmonise_headers(raw_students, dataset, source.file)
        if quality.tolerant_headers
        else raw_students
    )
    checked = check_columns(raw, dataset.columns, dataset, source.file)
    logger.info(
        "Checked %s: %d rows, %d of %d columns kept, %d malformed records",
        source.file,
        len(checked),
        checked.shape[1],
        raw_students.shape[1],
        len(source.malformed),
    )
    return checked


def normalise_values(
    int_students_raw: pd.DataFrame,
    dataset: DatasetSchema,
    quality: QualityParams,
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
    n_rows = max(len(typed), 1)
    for name in typed.columns:
        text = clean_text(int_students_raw[name], dataset.missing_tokens)
        missing, invalid = text.isna().sum(), invalid_values(text, typed[name])
        if missing / n_rows > quality.max_missing_share:
            logger.warning("Column %r: %d of %d values missing", name, missing, n_rows)
        if invalid.sum() / n_rows > quality.max_invalid_share:
            logger.warning(
                "Column %r: %d values not allowed, set to NA: %s",
                name,
                invalid.sum(),
                dict(invalid.head(5)),
            )
    logger.info("Typed %d rows x %d columns", len(typed), typed.shape[1])
    return typed


def _malformed_rows(source: RawSource, columns: pd.Index) -> pd.DataFrame:
    """The malformed records as quarantine rows: reason, problem, raw text."""
    lines = pd.Index(
        [m.line for m in source.malformed], name=SOURCE_LINE, dtype="int64"
    )
    rows = pd.DataFrame(index=lines, columns=columns, dtype="string")
    rows[REASON] = MALFORMED
    rows[DETAIL] = [m.problem for m in source.malformed]
    rows[RAW_TEXT] = [m.text for m in source.malformed]
    return rows


def quarantine_rows(
    int_students_raw: pd.DataFrame,
    int_students_typed: pd.DataFrame,
    raw_students: pd.DataFrame,
    raw_students_source: RawSource,
    dataset: DatasetSchema,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Set aside the rows that cannot be used, each with its reason.

    Reasons: ``malformed_record`` (the record does not fit the header; its problem
    in ``detail``, its text in ``raw_text``), ``target_missing``, ``target_invalid``
    and, under the ``keep_first`` duplicates policy, ``duplicate`` (a later copy of a
    row identical after typing).

    Args:
        int_students_raw: Output of ``check_raw_structure`` (schema names).
        int_students_typed: Output of ``normalise_values``.
        raw_students: The raw rows, for the quarantine's copy of the original values.
        raw_students_source: The malformed records.
        dataset: The schema (target name, duplicates policy, missing tokens).

    Returns:
        The primary table (rows kept) and the quarantine: ``source_line`` index in
        file order, ``reason``, ``detail``, ``raw_text`` and the original raw row.
    """
    target = dataset.target.name
    raw_target = clean_text(int_students_raw[target], dataset.missing_tokens)
    reason = pd.Series(pd.NA, index=int_students_typed.index, dtype="string")
    reason[raw_target.isna()] = "target_missing"
    reason[raw_target.notna() & int_students_typed[target].isna()] = "target_invalid"
    if dataset.duplicates == "keep_first":
        candidates = int_students_typed[reason.isna()]
        reason[candidates.index[candidates.duplicated(keep="first")]] = "duplicate"
    kept = int_students_typed[reason.isna()].copy()
    set_aside = raw_students[reason.notna()].copy()
    for position, (name, values) in enumerate(
        [(REASON, reason[reason.notna()]), (DETAIL, pd.NA), (RAW_TEXT, pd.NA)]
    ):
        set_aside.insert(position, name, values)
    quarantine = pd.concat(
        [set_aside, _malformed_rows(raw_students_source, set_aside.columns)]
    ).sort_index()
    quarantine = quarantine.astype("string")
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
    raw_students_source: RawSource,
    int_students_typed: pd.DataFrame,
    prm_students: pd.DataFrame,
    int_quarantined_rows: pd.DataFrame,
    dataset: DatasetSchema,
    quality: QualityParams,
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """Account for every raw record and every value the cleaning changed.

    Args:
        raw_students: The raw rows (well-formed records).
        raw_students_source: The file, its encoding, record count, malformed records.
        int_students_typed: Output of ``normalise_values``.
        prm_students: Rows kept.
        int_quarantined_rows: Rows set aside, with their ``reason``.
        dataset: The schema.
        quality: ``tolerant_headers``, to list the renamed columns.

    Returns:
        The data-quality report and its headline figures as MLflow metrics
        (``{"name": {"value": v, "step": 0}}``).

    Raises:
        ValueError: Rows in is not rows kept plus rows quarantined (a bug, never data).
    """
    source, kept, quarantined = raw_students_source, prm_students, int_quarantined_rows
    _check_accounting(source.records, kept, quarantined)
    found = [str(c) for c in raw_students.columns]
    renamed = (
        match_headers(found, dataset, source.file) if quality.tolerant_headers else {}
    )
    raw = raw_students.rename(columns=renamed)
    columns = {
        name: _column_summary(
            clean_text(raw[name], dataset.missing_tokens),
            int_students_typed[name],
            kept[name],
            None if name == dataset.target.name else dataset.feature(name),
        )
        for name in dataset.columns
    }
    report = _report(source, kept, quarantined, dataset) | {
        "columns_found": found,
        "columns_renamed": renamed,
        "columns_dropped": [c for c in raw.columns if c not in dataset.columns],
        "columns": columns,
        "values_set_to_na": sum(
            sum(c["invalid_values"].values()) for c in columns.values()
        ),
    }
    logger.info(
        "Data quality: %d rows in, %d kept, %d quarantined %s",
        source.records,
        len(kept),
        len(quarantined),
        report["quarantined_by_reason"],
    )
    return report, _report_metrics(report)


def _check_accounting(
    rows_in: int, kept: pd.DataFrame, quarantined: pd.DataFrame
) -> None:
    """Every record in is kept or quarantined, once (a bug otherwise, never data)."""
    accounted = kept.index.union(quarantined.index.astype("int64"))
    if len(kept) + len(quarantined) != rows_in or len(accounted) != rows_in:
        raise ValueError(
            f"row accounting broken: {rows_in} in, {len(kept)} kept, "
            f"{len(quarantined)} quarantined"
        )


def _report(
    source: RawSource,
    kept: pd.DataFrame,
    quarantined: pd.DataFrame,
    dataset: DatasetSchema,
) -> dict[str, Any]:
    """The report's head: the file, its rows and where they went."""
    by_reason = quarantined[REASON].value_counts().to_dict()
    return {
        "dataset": dataset.name,
        "source_file": source.file,
        "encoding": source.encoding,
        "rows_in": source.records,
        "rows_kept": len(kept),
        "rows_quarantined": len(quarantined),
        "quarantined_by_reason": {str(k): int(v) for k, v in by_reason.items()},
        "malformed_records": [
            {"line": m.line, "problem": m.problem, "text": m.text}
            for m in source.malformed
        ],
        "duplicates": {
            "policy": dataset.duplicates,
            "quarantined": int(by_reason.get("duplicate", 0)),
        },
    }


def _report_metrics(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The report's headline figures as MLflow metrics."""
    return {
        key: {"value": float(report[key]), "step": 0}
        for key in ("rows_in", "rows_kept", "rows_quarantined", "values_set_to_na")
    } | {
        f"quarantined_{reason}": {"value": float(count), "step": 0}
        for reason, count in report["quarantined_by_reason"].items()
    }


def check_usable_rows(rpt_data_quality: dict[str, Any]) -> None:
    """Fail when no row is kept, once the quarantine and the report are saved.

    A node of its own that reads the saved report, so that Kedro has persisted the
    quarantine table and the quality report before the run stops.

    Args:
        rpt_data_quality: Output of ``build_quality_report`` (fields ``source_file``,
            ``rows_in``, ``rows_kept``, ``quarantined_by_reason``).

    Raises:
        RawDataError: Every row was quarantined; the message names the file, the rows
            in and the reasons with their counts.
    """
    report = rpt_data_quality
    if report["rows_kept"]:
        return
    reasons = ", ".join(
        f"{reason} {count}" for reason, count in report["quarantined_by_reason"].items()
    )
    raise RawDataError(
        f"{report['source_file']}: no usable row: {report['rows_in']} rows in, all "
        f"quarantined ({reasons}); the quarantine table (int_quarantined_rows) and "
        "the quality report (rpt_data_quality) say why row by row"
    )
