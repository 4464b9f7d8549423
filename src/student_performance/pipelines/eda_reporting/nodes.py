"""Nodes of the eda_reporting pipeline that compute: the tables and the findings.

No column of a particular dataset is named here: the target, its class order, the
features, their kind and their values all come from the ``DatasetSchema`` in conf.
Tables are returned as plain frames (saved as CSV / JSON by the catalog). The figures
and the HTML report are drawn by the nodes of ``report_nodes``; the settings are in
``params``.

The work is in private modules beside it: ``_stats`` (association measures, the
tables) and ``_findings`` (the findings' sentences). scipy is imported inside the
functions that test: ``kedro`` imports every pipeline's nodes on every command.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd

from student_performance.models.metrics import metric_name
from student_performance.schema import DatasetSchema

from ._findings import (
    MEASURE_NOTE,
    association_findings,
    imbalance_finding,
    missing_findings,
    rare_value_findings,
)
from ._stats import (
    MEASURES,
    as_categories,
    association_row,
    column_summary,
    cramers_v_matrix,
    feature_table,
    rank_rows,
    require_columns,
    target,
)
from .params import AssociationParams, FindingsParams

logger = logging.getLogger(__name__)


# --- tables -------------------------------------------------------------------------


def summarise_dataset(
    raw_students: pd.DataFrame,
    prm_students: pd.DataFrame,
    rpt_data_quality: dict[str, Any],
) -> dict[str, Any]:
    """Rows and columns in the raw file and after cleaning, and where rows went.

    Args:
        raw_students: The raw rows as read.
        prm_students: The rows kept by data_processing.
        rpt_data_quality: data_processing's quality report (fields ``rows_in``,
            ``rows_kept``, ``rows_quarantined``, ``quarantined_by_reason``,
            ``columns_dropped``, ``values_set_to_na``, ``dataset``).

    Returns:
        ``{"dataset", "raw": {"rows", "columns"}, "clean": {"rows", "columns"},
        "columns_dropped", "rows_quarantined", "quarantined_by_reason",
        "values_set_to_na"}``.

    Raises:
        ValueError: The quality report does not describe these tables (it is from
            another run of data_processing).
    """
    report = rpt_data_quality
    malformed = report["quarantined_by_reason"].get("malformed_record", 0)
    if (report["rows_in"], report["rows_kept"]) != (
        len(raw_students) + malformed,  # malformed records are not in the rows
        len(prm_students),
    ):
        raise ValueError(
            f"rpt_data_quality counts {report['rows_in']} rows in and "
            f"{report['rows_kept']} kept, the tables {len(raw_students)} and "
            f"{len(prm_students)}: run data_processing again"
        )
    overview = {
        "dataset": report["dataset"],
        "raw": {"rows": len(raw_students), "columns": raw_students.shape[1]},
        "clean": {"rows": len(prm_students), "columns": prm_students.shape[1]},
        "columns_dropped": list(report["columns_dropped"]),
        "rows_quarantined": report["rows_quarantined"],
        "quarantined_by_reason": dict(report["quarantined_by_reason"]),
        "values_set_to_na": report["values_set_to_na"],
    }
    logger.info(
        "Overview: %d x %d raw, %d x %d clean, quarantined %s",
        *overview["raw"].values(),
        *overview["clean"].values(),
        overview["quarantined_by_reason"],
    )
    return overview


def summarise_columns(
    raw_students: pd.DataFrame,
    prm_students: pd.DataFrame,
    rpt_data_quality: dict[str, Any],
    dataset: DatasetSchema,
) -> pd.DataFrame:
    """Per column, the raw file and the cleaned table side by side.

    Args:
        raw_students: The raw rows, every cell as text; the schema's columns required.
        prm_students: The rows kept, typed; the schema's columns required.
        rpt_data_quality: data_processing's quality report; per column
            ``missing_before``, ``missing_after`` (``count``, ``share``) and
            ``invalid_values`` are read.
        dataset: The schema (target, features, missing tokens).

    Returns:
        One row per schema column (target first): ``column``, ``role``, ``kind``,
        ``raw_type``, ``clean_type``, ``raw_distinct`` (distinct spellings, missing
        tokens aside), ``clean_distinct``, ``raw_missing`` / ``raw_missing_share``,
        ``clean_missing`` / ``clean_missing_share``, ``values_respelled`` (values of
        any raw row, valid after cleaning, whose raw text differs from their canonical
        spelling) and ``values_set_to_na`` (values not allowed).

    Raises:
        ValueError: A schema column is missing from either table or the report.
    """
    # headers data_processing matched loosely ("columns_renamed") under schema names
    raw_students = raw_students.rename(
        columns=rpt_data_quality.get("columns_renamed", {})
    )
    require_columns(raw_students, dataset.columns, "raw_students")
    require_columns(prm_students, dataset.columns, "prm_students")
    quality = rpt_data_quality["columns"]
    unreported = [c for c in dataset.columns if c not in quality]
    if unreported:
        raise ValueError(f"rpt_data_quality does not describe columns {unreported}")
    overview = column_summary(raw_students, prm_students, quality, dataset)
    logger.info(
        "Columns: %d described; %d raw values respelled, %d set to NA",
        len(overview),
        overview["values_respelled"].sum(),
        overview["values_set_to_na"].sum(),
    )
    return overview


def summarise_target(
    prm_students: pd.DataFrame, dataset: DatasetSchema
) -> pd.DataFrame:
    """Rows per target class, in class order.

    Args:
        prm_students: The rows kept; the target column required.
        dataset: The schema (target name and classes).

    Returns:
        ``class``, ``count``, ``share`` (of the rows with a target), one row per
        class, lowest first.

    Raises:
        ValueError: The target column is missing, or no row holds a known class.
    """
    require_columns(prm_students, [dataset.target.name], "prm_students")
    classes = target(prm_students, dataset)
    counts = classes.value_counts(sort=False).reindex(dataset.target.classes)
    if counts.sum() == 0:
        raise ValueError(f"no row of prm_students has a {classes.name!r} class")
    distribution = pd.DataFrame(
        {
            "class": list(dataset.target.classes),
            "count": counts.to_numpy(dtype=int),
            "share": (counts / counts.sum()).round(4).to_numpy(),
        }
    )
    logger.info("Target %r: %s", classes.name, dict(zip(distribution["class"], counts)))
    return distribution


def tabulate_features_by_target(
    prm_students: pd.DataFrame,
    dataset: DatasetSchema,
    association: AssociationParams,
) -> pd.DataFrame:
    """Rows per feature value and target class (the data behind the bar charts).

    Args:
        prm_students: The rows kept; the schema's columns required.
        dataset: The schema (features in order, their values, the target classes).
        association: ``numeric_bins``: numeric features are tabulated in quantile bins.

    Returns:
        Long table ``feature``, ``value``, ``class``, ``count``, ``share`` (of the
        value's rows, NaN for a value never seen), values in schema order.

    Raises:
        ValueError: A schema column is missing.
    """
    require_columns(prm_students, dataset.columns, "prm_students")
    bins = association.numeric_bins
    table = pd.concat(
        [feature_table(prm_students, spec, dataset, bins) for spec in dataset.features],
        ignore_index=True,
    ).loc[:, ["feature", "value", "class", "count", "share"]]
    table[["value", "class"]] = table[["value", "class"]].astype(str)
    logger.info(
        "Feature x target table: %d cells, %d features",
        len(table),
        len(dataset.features),
    )
    return table


def rank_associations(
    prm_students: pd.DataFrame,
    dataset: DatasetSchema,
    association: AssociationParams,
) -> pd.DataFrame:
    """Rank the features by their association with the target.

    Args:
        prm_students: The rows kept; the schema's columns required.
        dataset: The schema (kinds decide which measures apply).
        association: ``numeric_bins`` and ``rank_by`` (``cramers_v`` or
            ``mutual_info``).

    Returns:
        ``rank``, ``feature``, ``kind``, ``n`` (rows with both values), ``levels``
        (values or bins seen), ``cramers_v`` (bias-corrected), ``mutual_info``
        (nats), ``chi2_p_value``, ``spearman`` and ``kendall`` (τ-b; NaN unless
        the feature is ordinal or numeric and the target ordinal); strongest first.

    Raises:
        ValueError: A schema column is missing.
    """
    require_columns(prm_students, dataset.columns, "prm_students")
    bins = association.numeric_bins
    ranking = rank_rows(
        [association_row(prm_students, s, dataset, bins) for s in dataset.features],
        association.rank_by,
    )
    top = ranking.iloc[0]
    logger.info(
        "Associations with %r: strongest %r (Cramér's V %.3f, MI %.3f nats)",
        dataset.target.name,
        top["feature"],
        top["cramers_v"],
        top["mutual_info"],
    )
    return ranking


def compute_association_matrix(
    prm_students: pd.DataFrame,
    dataset: DatasetSchema,
    association: AssociationParams,
) -> pd.DataFrame:
    """Bias-corrected Cramér's V between every pair of columns, target included.

    Args:
        prm_students: The rows kept; the schema's columns required.
        dataset: The schema (column order: target first, then the features).
        association: ``numeric_bins`` for numeric features.

    Returns:
        A square table: first column ``column`` (the row's name), then one column per
        schema column; 1 on the diagonal, symmetric.

    Raises:
        ValueError: A schema column is missing.
    """
    require_columns(prm_students, dataset.columns, "prm_students")
    bins = association.numeric_bins
    columns = {dataset.target.name: target(prm_students, dataset)} | {
        spec.name: as_categories(prm_students, spec, bins) for spec in dataset.features
    }
    names = list(columns)
    values = cramers_v_matrix(columns)
    off_diagonal = values[~np.eye(len(names), dtype=bool)]
    logger.info(
        "Association matrix: %d columns, strongest pair V %.3f",
        len(names),
        np.nanmax(off_diagonal) if np.isfinite(off_diagonal).any() else math.nan,
    )
    matrix = pd.DataFrame(values.round(4), index=names, columns=names)
    return matrix.rename_axis("column").reset_index()


def build_association_metrics(
    rpt_eda_association_ranking: pd.DataFrame,
) -> dict[str, dict[str, float]]:
    """The association ranking as MLflow metrics.

    Args:
        rpt_eda_association_ranking: Output of ``rank_associations`` (``feature``,
            ``cramers_v``, ``mutual_info``, ``spearman``, ``kendall``).

    Returns:
        ``{"<measure>.<feature>": {"value": v, "step": 0}}`` for every defined value,
        feature names reduced to letters, digits, ``_`` and ``-``.

    Raises:
        ValueError: Two features reduce to the same metric name, or one to nothing.
    """
    ranking = rpt_eda_association_ranking
    names = {feature: metric_name(str(feature)) for feature in ranking["feature"]}
    if "" in names.values() or len(set(names.values())) < len(names):
        raise ValueError(f"feature names give empty or clashing metric names: {names}")
    metrics = {
        f"{measure}.{names[row['feature']]}": {"value": float(row[measure]), "step": 0}
        for _, row in ranking.iterrows()
        for measure in MEASURES
        if pd.notna(row[measure])
    }
    logger.info(
        "Association metrics: %d values for %d features", len(metrics), len(names)
    )
    return metrics


# --- findings -----------------------------------------------------------------------


def write_findings(
    prm_students: pd.DataFrame,
    rpt_eda_column_overview: pd.DataFrame,
    rpt_eda_target_distribution: pd.DataFrame,
    rpt_eda_association_ranking: pd.DataFrame,
    dataset: DatasetSchema,
    findings: FindingsParams,
) -> dict[str, Any]:
    """Sentences built from the numbers: associations, missing, rare values, balance.

    Args:
        prm_students: The rows kept; the categorical features required.
        rpt_eda_column_overview: Output of ``summarise_columns``.
        rpt_eda_target_distribution: Output of ``summarise_target``.
        rpt_eda_association_ranking: Output of ``rank_associations``.
        dataset: The schema.
        findings: ``top_associations``, ``weak_association``, ``high_missing_share``,
            ``rare_value_share``, ``imbalance_ratio``.

    Returns:
        ``{"measure": ..., "thresholds": {...}, "findings": [{"topic", "text"}]}``.

    Raises:
        ValueError: The ranking is empty or names features outside the schema.
    """
    ranking = rpt_eda_association_ranking
    unknown = set(ranking["feature"]) - set(dataset.feature_names)
    if ranking.empty or unknown:
        raise ValueError(
            f"association ranking does not fit the schema (unknown: {sorted(unknown)})"
        )
    name = dataset.target.name
    items = [
        *association_findings(ranking, name, findings),
        imbalance_finding(rpt_eda_target_distribution, name, findings),
        *missing_findings(rpt_eda_column_overview, len(prm_students), findings),
        *rare_value_findings(prm_students, dataset, findings),
    ]
    logger.info("Findings: %d sentences", len(items))
    return {
        "measure": MEASURE_NOTE,
        "thresholds": findings.model_dump(),
        "findings": items,
    }
