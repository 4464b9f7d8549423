"""Nodes of the eda_reporting pipeline: the exploratory analysis, driven by the schema.

No column of a particular dataset is named here: the target, its class order, the
features, their kind and their values all come from the ``DatasetSchema`` in conf.
Tables are returned as plain frames (saved as CSV / JSON by the catalog), figures as
``matplotlib.figure.Figure`` objects (saved as PNG) and the report as one HTML string
with plotly.js embedded, so it opens offline.

matplotlib, plotly and scipy are imported inside the functions that draw or test:
``kedro`` imports every pipeline's nodes on every command, and these imports cost
about a second together.
"""

from __future__ import annotations

import html
import logging
import math
import re
from itertools import combinations
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from student_performance.pipelines.data_processing.nodes import (
    clean_text,
    normalise_frame,
)
from student_performance.schema import DatasetSchema, FeatureKind, FeatureSpec

if TYPE_CHECKING:
    import plotly.graph_objects as go
    from matplotlib.axes import Axes

logger = logging.getLogger(__name__)

ALL_ROWS = "(all rows)"  # label of the reference bar above each feature's values
MEASURE_NOTE = (
    "Cramér's V with Bergsma's bias correction (0 = independent, 1 = one column "
    "determines the other) on the contingency table of each pair, rows with both "
    "values only; mutual information in nats from the same table; Spearman's ρ and "
    "Kendall's τ-b on the class order, for ordinal or numeric features against an "
    "ordinal target only. Numeric features enter Cramér's V and mutual information "
    "in quantile bins."
)


class AssociationParams(BaseModel):
    """``eda_reporting.association``: how associations are measured and ranked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    numeric_bins: int = Field(5, ge=2)
    rank_by: Literal["cramers_v", "mutual_info"] = "cramers_v"


class FindingsThresholds(BaseModel):
    """``eda_reporting.findings``: the thresholds that turn numbers into findings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    top_associations: int = Field(3, ge=1)
    weak_association: float = Field(0.1, ge=0, le=1)
    high_missing_share: float = Field(0.015, ge=0, le=1)
    rare_value_share: float = Field(0.02, ge=0, le=1)
    imbalance_ratio: float = Field(1.5, ge=1)


class Figure(Protocol):
    """What ``matplotlib.MatplotlibDataset`` needs of a ``matplotlib.figure.Figure``.

    A protocol rather than the class itself so that importing this module (which
    ``kedro`` does on every command) does not import matplotlib.
    """

    def savefig(self, fname: Any, **kwargs: Any) -> None: ...


# --- schema-driven column access ----------------------------------------------------


def _require_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing} named in the schema")


def _target(frame: pd.DataFrame, dataset: DatasetSchema) -> pd.Series:
    """The target as a categorical in class order (values outside it become NA)."""
    target = dataset.target
    return pd.Series(
        pd.Categorical(frame[target.name], list(target.classes), target.ordinal),
        index=frame.index,
        name=target.name,
    )


def _bin_numeric(values: pd.Series, bins: int) -> pd.Series:
    """Quantile bins of a numeric column, as an ordered categorical ``"lo–hi"``."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    observed = numbers.dropna()
    edges = (
        np.unique(np.quantile(observed, np.linspace(0, 1, bins + 1)))
        if len(observed)
        else np.array([])
    )
    if len(edges) < 2:  # noqa: PLR2004 - one distinct value (or none): a single bin
        labels = [f"{v:.4g}" for v in edges]
        codes = np.where(numbers.notna(), 0, -1) if labels else np.full(len(values), -1)
    else:
        labels = [f"{lo:.4g}–{hi:.4g}" for lo, hi in zip(edges[:-1], edges[1:])]
        if len(set(labels)) < len(labels):
            labels = [f"bin {i + 1}: {label}" for i, label in enumerate(labels)]
        cut = pd.cut(numbers, edges, include_lowest=True, labels=False)
        codes = cut.fillna(-1).astype(int).to_numpy()
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=labels, ordered=True),
        index=values.index,
        name=values.name,
    )


def _as_categories(frame: pd.DataFrame, spec: FeatureSpec, bins: int) -> pd.Series:
    """A feature as a categorical: its values in schema order, or numeric bins.

    ``bins`` matters for numeric features only (callers pass 0 for categorical ones).
    """
    if not spec.is_categorical:
        return _bin_numeric(frame[spec.name], bins)
    return pd.Series(
        pd.Categorical(
            frame[spec.name], list(spec.values), spec.kind is FeatureKind.ORDINAL
        ),
        index=frame.index,
        name=spec.name,
    )


def _counts_by_class(
    frame: pd.DataFrame, spec: FeatureSpec, dataset: DatasetSchema, bins: int
) -> pd.DataFrame:
    """Rows per feature value (schema order, unseen values too) and target class."""
    values, target = _as_categories(frame, spec, bins), _target(frame, dataset)
    both = values.notna() & target.notna()
    counts = pd.crosstab(values[both], target[both])
    return counts.reindex(
        index=values.cat.categories, columns=target.cat.categories, fill_value=0
    ).rename_axis(index="value", columns="class")


# --- association measures -----------------------------------------------------------


def _pair_table(x: pd.Series, y: pd.Series) -> np.ndarray:
    """Contingency table of two categoricals, complete pairs, observed levels only."""
    both = x.notna() & y.notna()
    table = pd.crosstab(x[both], y[both]).to_numpy(dtype=float)
    if table.size == 0:
        return np.zeros((0, 0))
    return table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]


def _cramers_v(table: np.ndarray) -> float:
    """Bias-corrected Cramér's V (Bergsma 2013); NaN when it is undefined."""
    n = table.sum()
    rows, cols = table.shape
    if n < 2 or min(rows, cols) < 2:  # noqa: PLR2004
        return math.nan
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    phi2 = float(((table - expected) ** 2 / expected).sum()) / n
    phi2_corr = max(0.0, phi2 - (rows - 1) * (cols - 1) / (n - 1))
    rows_corr = rows - (rows - 1) ** 2 / (n - 1)
    cols_corr = cols - (cols - 1) ** 2 / (n - 1)
    denominator = min(rows_corr - 1, cols_corr - 1)
    return math.sqrt(phi2_corr / denominator) if denominator > 0 else math.nan


def _mutual_information(table: np.ndarray) -> float:
    """Mutual information in nats of the joint distribution in ``table``."""
    n = table.sum()
    if n == 0:
        return math.nan
    joint = table / n
    independent = np.outer(joint.sum(axis=1), joint.sum(axis=0))
    seen = joint > 0
    return float((joint[seen] * np.log(joint[seen] / independent[seen])).sum())


def _chi2_p_value(table: np.ndarray) -> float:
    from scipy import stats  # noqa: PLC0415 - 0.6 s: only when measuring

    if min(table.shape, default=0) < 2:  # noqa: PLR2004
        return math.nan
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def _rank_correlations(x: pd.Series, y: pd.Series) -> dict[str, float]:
    """Spearman's ρ and Kendall's τ-b of two numeric series, complete pairs."""
    from scipy import stats  # noqa: PLC0415

    both = x.notna() & y.notna()
    x, y = x[both].to_numpy(float), y[both].to_numpy(float)
    if len(x) < 3 or np.unique(x).size < 2 or np.unique(y).size < 2:  # noqa: PLR2004
        return {"spearman": math.nan, "kendall": math.nan}
    return {
        "spearman": float(stats.spearmanr(x, y).statistic),
        "kendall": float(stats.kendalltau(x, y).statistic),
    }


def _order_scores(frame: pd.DataFrame, spec: FeatureSpec) -> pd.Series:
    """An ordinal feature's position in its order, or a numeric feature's value."""
    if spec.kind is FeatureKind.NUMERIC:
        return pd.to_numeric(frame[spec.name], errors="coerce").astype("float64")
    codes = pd.Categorical(frame[spec.name], list(spec.values), ordered=True).codes
    return pd.Series(np.where(codes >= 0, codes, np.nan), index=frame.index)


def _association_row(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    dataset: DatasetSchema,
    association: AssociationParams,
) -> dict[str, Any]:
    target = _target(frame, dataset)
    table = _pair_table(_as_categories(frame, spec, association.numeric_bins), target)
    ranks = {"spearman": math.nan, "kendall": math.nan}
    if dataset.target.ordinal and spec.kind is not FeatureKind.NOMINAL:
        target_codes = pd.Series(target.cat.codes, index=frame.index).where(
            target.notna()
        )
        ranks = _rank_correlations(_order_scores(frame, spec), target_codes)
    return {
        "feature": spec.name,
        "kind": spec.kind.value,
        "n": int(table.sum()),
        "levels": int(table.shape[0]),
        "cramers_v": _cramers_v(table),
        "mutual_info": _mutual_information(table),
        "chi2_p_value": _chi2_p_value(table),
        **ranks,
    }


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
    if (report["rows_in"], report["rows_kept"]) != (
        len(raw_students),
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


def _type_label(values: pd.Series) -> str:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        kind = "ordered categorical" if dtype.ordered else "categorical"
        return f"{kind} ({len(dtype.categories)} values)"
    return str(dtype)


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
    _require_columns(raw_students, dataset.columns, "raw_students")
    _require_columns(prm_students, dataset.columns, "prm_students")
    quality = rpt_data_quality["columns"]
    unreported = [c for c in dataset.columns if c not in quality]
    if unreported:
        raise ValueError(f"rpt_data_quality does not describe columns {unreported}")
    raw = raw_students.loc[:, dataset.columns]
    typed = normalise_frame(raw, dataset)
    rows = []
    for name in dataset.columns:
        text = raw[name].astype("string")
        cleaned = clean_text(text, dataset.missing_tokens)
        spec = None if name == dataset.target.name else dataset.feature(name)
        numeric = spec is not None and not spec.is_categorical
        canonical = cleaned if numeric else typed[name].astype("string")
        respelled = typed[name].notna() & (text != canonical).fillna(True)
        column = quality[name]
        rows.append(
            {
                "column": name,
                "role": "target" if spec is None else "feature",
                "kind": ("ordinal" if dataset.target.ordinal else "nominal")
                if spec is None
                else spec.kind.value,
                "raw_type": str(text.dtype),
                "clean_type": _type_label(prm_students[name]),
                "raw_distinct": int(text[cleaned.notna()].nunique()),
                "clean_distinct": int(prm_students[name].nunique()),
                "raw_missing": column["missing_before"]["count"],
                "raw_missing_share": column["missing_before"]["share"],
                "clean_missing": column["missing_after"]["count"],
                "clean_missing_share": column["missing_after"]["share"],
                "values_respelled": int(respelled.sum()),
                "values_set_to_na": int(sum(column["invalid_values"].values())),
            }
        )
    overview = pd.DataFrame(rows)
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
    _require_columns(prm_students, [dataset.target.name], "prm_students")
    target = _target(prm_students, dataset)
    counts = target.value_counts(sort=False).reindex(dataset.target.classes)
    if counts.sum() == 0:
        raise ValueError(f"no row of prm_students has a {target.name!r} class")
    distribution = pd.DataFrame(
        {
            "class": list(dataset.target.classes),
            "count": counts.to_numpy(dtype=int),
            "share": (counts / counts.sum()).round(4).to_numpy(),
        }
    )
    logger.info("Target %r: %s", target.name, dict(zip(distribution["class"], counts)))
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
    _require_columns(prm_students, dataset.columns, "prm_students")
    parts = []
    for spec in dataset.features:
        counts = _counts_by_class(prm_students, spec, dataset, association.numeric_bins)
        shares = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0)
        part = pd.DataFrame(
            {
                "count": counts.stack(future_stack=True),
                "share": shares.stack(future_stack=True).round(4),
            }
        ).reset_index()
        parts.append(part.assign(feature=spec.name))
    table = pd.concat(parts, ignore_index=True)
    table = table.loc[:, ["feature", "value", "class", "count", "share"]]
    table[["value", "class"]] = table[["value", "class"]].astype(str)
    logger.info("Feature x target table: %d cells, %d features", len(table), len(parts))
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
    _require_columns(prm_students, dataset.columns, "prm_students")
    rows = [
        _association_row(prm_students, spec, dataset, association)
        for spec in dataset.features
    ]
    ranking = (
        pd.DataFrame(rows)
        .sort_values(association.rank_by, ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    ranking.insert(0, "rank", range(1, len(ranking) + 1))
    measures = ["cramers_v", "mutual_info", "spearman", "kendall"]
    ranking[measures] = ranking[measures].astype(float).round(4)
    ranking["chi2_p_value"] = ranking["chi2_p_value"].map(lambda p: float(f"{p:.3g}"))
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
    _require_columns(prm_students, dataset.columns, "prm_students")
    bins = association.numeric_bins
    columns = {dataset.target.name: _target(prm_students, dataset)} | {
        spec.name: _as_categories(prm_students, spec, bins) for spec in dataset.features
    }
    names = list(columns)
    values = np.eye(len(names))
    for i, j in combinations(range(len(names)), 2):
        v = _cramers_v(_pair_table(columns[names[i]], columns[names[j]]))
        values[i, j] = values[j, i] = v
    matrix = pd.DataFrame(values.round(4), index=names, columns=names)
    off_diagonal = values[~np.eye(len(names), dtype=bool)]
    logger.info(
        "Association matrix: %d columns, strongest pair V %.3f",
        len(names),
        np.nanmax(off_diagonal) if np.isfinite(off_diagonal).any() else math.nan,
    )
    return matrix.rename_axis("column").reset_index()


def _metric_name(feature: str) -> str:
    """A feature name MLflow accepts and that reads well: ``[A-Za-z0-9_-]`` only."""
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_-]", "_", feature)).strip("_")


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
    names = {feature: _metric_name(str(feature)) for feature in ranking["feature"]}
    if "" in names.values() or len(set(names.values())) < len(names):
        raise ValueError(f"feature names give empty or clashing metric names: {names}")
    metrics = {
        f"{measure}.{names[row['feature']]}": {"value": float(row[measure]), "step": 0}
        for _, row in ranking.iterrows()
        for measure in ("cramers_v", "mutual_info", "spearman", "kendall")
        if pd.notna(row[measure])
    }
    logger.info(
        "Association metrics: %d values for %d features", len(metrics), len(names)
    )
    return metrics


# --- findings -----------------------------------------------------------------------


def _pct(share: float) -> str:
    return f"{100 * share:.1f} %"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _association_findings(
    ranking: pd.DataFrame, target: str, findings: FindingsThresholds
) -> list[dict[str, str]]:
    sentences = []
    for _, row in ranking.head(findings.top_associations).iterrows():
        ranks = (
            f", Spearman's ρ {row['spearman']:.2f}, Kendall's τ-b {row['kendall']:.2f}"
            if pd.notna(row["spearman"])
            else ""
        )
        sentences.append(
            f"#{row['rank']} {row['feature']} ({row['kind']}): Cramér's V "
            f"{row['cramers_v']:.2f}, mutual information {row['mutual_info']:.3f} "
            f"nats{ranks} with {target} (n = {row['n']})."
        )
    weak = ranking[ranking["cramers_v"].fillna(0) < findings.weak_association]
    if len(weak):
        sentences.append(
            f"Cramér's V with {target} is below {findings.weak_association:g} for "
            f"{len(weak)} of {len(ranking)} features (little signal on their own): "
            f"{', '.join(map(str, weak['feature']))}."
        )
    return [{"topic": "association", "text": s} for s in sentences]


def _missing_findings(
    overview: pd.DataFrame, n_rows: int, findings: FindingsThresholds
) -> list[dict[str, str]]:
    limit = findings.high_missing_share
    high = overview[overview["clean_missing_share"] > limit]
    sentences = [
        f"{row['column']} is missing in {_pct(row['clean_missing_share'])} of the rows "
        f"after cleaning ({row['clean_missing']} of {n_rows}), above the "
        f"{_pct(limit)} threshold. Raw file: {_plural(row['raw_missing'], 'cell')} "
        f"({_pct(row['raw_missing_share'])}) empty or a missing token, "
        f"{_plural(row['values_set_to_na'], 'value')} not allowed (set to NA)."
        for _, row in high.iterrows()
    ]
    if not sentences:
        worst = overview.loc[overview["clean_missing_share"].idxmax()]
        sentences = [
            f"No column has more than {_pct(limit)} missing values after cleaning "
            f"(highest: {worst['column']}, {_pct(worst['clean_missing_share'])})."
        ]
    return [{"topic": "missing", "text": s} for s in sentences]


def _rare_value_findings(
    frame: pd.DataFrame, dataset: DatasetSchema, findings: FindingsThresholds
) -> list[dict[str, str]]:
    n_rows, limit, sentences = len(frame), findings.rare_value_share, []
    for spec in (s for s in dataset.features if s.is_categorical):
        counts = _as_categories(frame, spec, bins=0).value_counts(sort=False)
        rare = counts[counts < limit * n_rows].sort_values()
        if rare.empty:
            continue
        listed = ", ".join(
            f"{value} ({count} row{'s' if count != 1 else ''})"
            for value, count in rare.items()
        )
        sentences.append(
            f"{spec.name} has {len(rare)} rare value{'s' if len(rare) > 1 else ''} "
            f"(under {_pct(limit)} of the {n_rows} rows): {listed}. Class shares for "
            "them rest on few rows; consider merging them."
        )
    if not sentences:
        sentences = [f"No feature value holds less than {_pct(limit)} of the rows."]
    return [{"topic": "rare_values", "text": s} for s in sentences]


def _imbalance_finding(
    distribution: pd.DataFrame, target: str, findings: FindingsThresholds
) -> dict[str, str]:
    largest = distribution.loc[distribution["count"].idxmax()]
    smallest = distribution.loc[distribution["count"].idxmin()]
    ratio = largest["count"] / max(smallest["count"], 1)  # 0 rows: said apart
    counts = (
        f"{largest['class']} is the largest class ({largest['count']} rows, "
        f"{_pct(largest['share'])}), {smallest['class']} the smallest "
        f"({smallest['count']}, {_pct(smallest['share'])}): a ratio of {ratio:.1f} : 1"
    )
    if smallest["count"] == 0:
        text = (
            f"The {target} class {smallest['class']} has no rows after cleaning: no "
            f"model can learn it. {largest['class']} is the largest class "
            f"({largest['count']} rows, {_pct(largest['share'])})."
        )
    elif largest["count"] == smallest["count"]:
        text = f"The {target} classes are balanced: {largest['count']} rows each."
    elif ratio > findings.imbalance_ratio:
        text = (
            f"The {target} classes are imbalanced. {counts}, above "
            f"{findings.imbalance_ratio:g}. Always predicting {largest['class']} "
            f"scores {_pct(largest['share'])} accuracy: use stratified splits and "
            "macro-averaged metrics."
        )
    else:
        text = (
            f"The {target} classes are balanced enough. {counts}, within "
            f"{findings.imbalance_ratio:g}."
        )
    return {"topic": "class_balance", "text": text}


def write_findings(
    prm_students: pd.DataFrame,
    rpt_eda_column_overview: pd.DataFrame,
    rpt_eda_target_distribution: pd.DataFrame,
    rpt_eda_association_ranking: pd.DataFrame,
    dataset: DatasetSchema,
    findings: FindingsThresholds,
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
    target = dataset.target.name
    items = [
        *_association_findings(ranking, target, findings),
        _imbalance_finding(rpt_eda_target_distribution, target, findings),
        *_missing_findings(rpt_eda_column_overview, len(prm_students), findings),
        *_rare_value_findings(prm_students, dataset, findings),
    ]
    logger.info("Findings: %d sentences", len(items))
    return {
        "measure": MEASURE_NOTE,
        "thresholds": findings.model_dump(),
        "findings": items,
    }


# --- colours and ordering shared by both renderers -----------------------------------


def _class_colours(n: int, ordinal: bool) -> list[str]:
    """Hex colours per class: a sequential scale for ordered classes."""
    from plotly import colors  # noqa: PLC0415

    if not ordinal:
        return [colors.qualitative.D3[i % 10] for i in range(n)]
    samples = colors.sample_colorscale(colors.sequential.Viridis, n, high=0.85)
    return [
        "#{:02x}{:02x}{:02x}".format(*(round(c) for c in colors.unlabel_rgb(s)))
        for s in samples
    ]


def _ranked_features(
    ranking: pd.DataFrame, dataset: DatasetSchema
) -> list[tuple[FeatureSpec, pd.Series]]:
    """The schema's features, strongest association first, with their ranking row."""
    rows = ranking.set_index("feature")
    if set(rows.index) != set(dataset.feature_names):
        raise ValueError(
            "association ranking and schema list different features: "
            f"{sorted(map(str, set(rows.index) ^ set(dataset.feature_names)))}"
        )
    return [(dataset.feature(name), rows.loc[name]) for name in ranking["feature"]]


def _shares_with_reference(counts: pd.DataFrame) -> pd.DataFrame:
    """Class shares per value, with an ``ALL_ROWS`` row first; ``n`` per row."""
    counts = pd.concat([counts.sum().to_frame(ALL_ROWS).T, counts])
    n = counts.sum(axis=1)
    shares = counts.div(n.replace(0, np.nan), axis=0).fillna(0.0)
    return shares.assign(n=n)


# --- matplotlib figures (PNG) -------------------------------------------------------


def _new_figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure as MplFigure  # noqa: PLC0415

    return MplFigure(figsize=(width, height), layout="constrained")


def plot_target_distribution(
    rpt_eda_target_distribution: pd.DataFrame, dataset: DatasetSchema
) -> Figure:
    """Bar chart of rows per target class, in class order.

    Args:
        rpt_eda_target_distribution: Output of ``summarise_target``.
        dataset: The schema (target name, whether classes are ordered).

    Returns:
        A matplotlib figure.

    Raises:
        ValueError: The table is empty.
    """
    table = rpt_eda_target_distribution
    if table.empty:
        raise ValueError("the target distribution is empty")
    figure = _new_figure(6.5, 4)
    ax = figure.add_subplot()
    labels = table["class"].astype(str).tolist()
    colours = _class_colours(len(table), dataset.target.ordinal)
    bars = ax.bar(labels, table["count"], color=colours)
    ax.bar_label(
        bars,
        labels=[f"{c} ({_pct(s)})" for c, s in zip(table["count"], table["share"])],
    )
    ax.set_title(f"{dataset.target.name}: rows per class ({table['count'].sum()} rows)")
    ax.set_xlabel(f"{dataset.target.name} (class order, lowest first)")
    ax.set_ylabel("rows")
    ax.margins(y=0.12)
    ax.spines[["top", "right"]].set_visible(False)
    logger.info("Plotted the target distribution (%d classes)", len(table))
    return figure


def _draw_stacked_shares(
    ax: Axes, shares: pd.DataFrame, classes: list[str], colours: list[str]
) -> None:
    labels = [f"{value}  (n={n})" for value, n in zip(shares.index, shares["n"])]
    left = np.zeros(len(shares))
    for cls, colour in zip(classes, colours):
        ax.barh(labels, shares[cls], left=left, color=colour, label=cls, height=0.75)
        left += shares[cls].to_numpy()
    ax.invert_yaxis()
    ax.axhline(0.5, color="#52606d", linewidth=0.8, linestyle=":")  # under all rows
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    ax.tick_params(axis="y", labelsize=8)


def _draw_numeric_by_class(
    ax: Axes, values: pd.Series, target: pd.Series, colours: list[str]
) -> None:
    classes = list(target.cat.categories)
    groups = [values[target == cls].dropna().to_numpy(float) for cls in classes]
    boxes = ax.boxplot(
        groups, tick_labels=classes, patch_artist=True, orientation="horizontal"
    )
    for patch, colour in zip(boxes["boxes"], colours):
        patch.set(facecolor=colour, alpha=0.7)
    ax.invert_yaxis()


def plot_features_by_target(
    prm_students: pd.DataFrame,
    rpt_eda_association_ranking: pd.DataFrame,
    dataset: DatasetSchema,
) -> Figure:
    """Small multiples: each feature against the target, strongest association first.

    Categorical features: the share of each target class per value (values in schema
    order, a reference bar for all rows on top). Numeric features: box plots per class.

    Args:
        prm_students: The rows kept; the schema's columns required.
        rpt_eda_association_ranking: Output of ``rank_associations`` (the order).
        dataset: The schema.

    Returns:
        A matplotlib figure.

    Raises:
        ValueError: A schema column is missing, or the ranking lists other features.
    """
    from matplotlib.patches import Patch  # noqa: PLC0415

    _require_columns(prm_students, dataset.columns, "prm_students")
    features = _ranked_features(rpt_eda_association_ranking, dataset)
    classes = list(dataset.target.classes)
    colours = _class_colours(len(classes), dataset.target.ordinal)
    ncols = min(3, len(features))
    nrows = math.ceil(len(features) / ncols)
    figure = _new_figure(5.2 * ncols, 3.1 * nrows + 0.6)
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (spec, row) in zip(axes, features):
        if spec.is_categorical:
            counts = _counts_by_class(prm_students, spec, dataset, bins=0)
            _draw_stacked_shares(ax, _shares_with_reference(counts), classes, colours)
        else:
            values = pd.to_numeric(prm_students[spec.name], errors="coerce")
            _draw_numeric_by_class(ax, values, _target(prm_students, dataset), colours)
            ax.set_xlabel(spec.name)
        ax.set_title(f"#{row['rank']} {spec.name}  (V = {row['cramers_v']:.2f})")
    for ax in axes[len(features) :]:
        ax.set_axis_off()
    figure.legend(
        handles=[Patch(color=c, label=cls) for cls, c in zip(classes, colours)],
        loc="outside lower center",
        ncols=len(classes),
        title=dataset.target.name
        + (" (lowest first)" if dataset.target.ordinal else ""),
    )
    figure.suptitle(
        f"Share of each {dataset.target.name} class per feature value "
        "(features by Cramér's V, strongest first)"
    )
    logger.info("Plotted %d features against the target", len(features))
    return figure


def plot_association_ranking(rpt_eda_association_ranking: pd.DataFrame) -> Figure:
    """Horizontal bars: Cramér's V and mutual information per feature, ranked.

    Args:
        rpt_eda_association_ranking: Output of ``rank_associations``.

    Returns:
        A matplotlib figure with two panels sharing the feature axis.

    Raises:
        ValueError: The ranking is empty.
    """
    ranking = rpt_eda_association_ranking
    if ranking.empty:
        raise ValueError("the association ranking is empty")
    figure = _new_figure(10, 0.38 * len(ranking) + 1.6)
    left, right = figure.subplots(1, 2, sharey=True)
    labels = ranking["feature"].astype(str).tolist()
    for ax, measure, title, colour in (
        (left, "cramers_v", "Cramér's V (bias-corrected)", "#35608d"),
        (right, "mutual_info", "mutual information (nats)", "#2a9d8f"),
    ):
        bars = ax.barh(labels, ranking[measure].fillna(0), color=colour)
        ax.bar_label(bars, fmt="%.3f", padding=2, fontsize=8)
        ax.set_title(title)
        ax.margins(x=0.18)
        ax.spines[["top", "right"]].set_visible(False)
    left.invert_yaxis()
    figure.suptitle("Association of each feature with the target (strongest first)")
    logger.info("Plotted the association ranking (%d features)", len(ranking))
    return figure


def plot_association_heatmap(rpt_eda_association_matrix: pd.DataFrame) -> Figure:
    """Heat map of Cramér's V between every pair of columns.

    Args:
        rpt_eda_association_matrix: Output of ``compute_association_matrix``.

    Returns:
        A matplotlib figure.

    Raises:
        ValueError: The matrix is not square.
    """
    matrix = rpt_eda_association_matrix.set_index("column")
    if list(matrix.index.astype(str)) != list(matrix.columns.astype(str)):
        raise ValueError("the association matrix is not square")
    n = len(matrix)
    figure = _new_figure(0.62 * n + 3, 0.55 * n + 2.2)
    ax = figure.add_subplot()
    image = ax.imshow(matrix.to_numpy(float), cmap="Blues", vmin=0, vmax=1)
    labels = matrix.index.astype(str).tolist()
    ax.set_xticks(range(n), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    for (i, j), value in np.ndenumerate(matrix.to_numpy(float)):
        if np.isfinite(value):
            colour = "white" if value > 0.6 else "black"  # noqa: PLR2004
            ax.text(
                j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color=colour
            )
    figure.colorbar(image, ax=ax, label="Cramér's V (bias-corrected)", shrink=0.8)
    ax.set_title("Association between every pair of columns")
    logger.info("Plotted the association heat map (%d x %d)", n, n)
    return figure


# --- plotly figures and the HTML report ----------------------------------------------


def _plotly_layout(fig: go.Figure, title: str, subtitle: str, height: int) -> None:
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "subtitle": {"text": subtitle}, "x": 0.01},
        height=height,
        margin={"l": 10, "r": 20, "t": 80, "b": 50},
        showlegend=False,
        font={"size": 13},
    )


def _plotly_target(table: pd.DataFrame, dataset: DatasetSchema) -> go.Figure:
    import plotly.graph_objects as go  # noqa: PLC0415

    classes = table["class"].astype(str).tolist()
    fig = go.Figure(
        go.Bar(
            x=classes,
            y=table["count"],
            marker_color=_class_colours(len(classes), dataset.target.ordinal),
            text=[f"{c} ({_pct(s)})" for c, s in zip(table["count"], table["share"])],
            textposition="outside",
            hovertemplate="%{x}: %{y} rows<extra></extra>",
        )
    )
    _plotly_layout(
        fig,
        f"{dataset.target.name}: rows per class",
        f"{table['count'].sum()} rows after cleaning; classes in order, lowest first",
        420,
    )
    fig.update_xaxes(title=dataset.target.name, type="category")
    fig.update_yaxes(title="rows", range=[0, table["count"].max() * 1.18])
    return fig


def _plotly_categorical(
    frame: pd.DataFrame, spec: FeatureSpec, dataset: DatasetSchema
) -> go.Figure:
    import plotly.graph_objects as go  # noqa: PLC0415

    shares = _shares_with_reference(_counts_by_class(frame, spec, dataset, bins=0))
    labels = [f"{value} (n={n})" for value, n in zip(shares.index, shares["n"])]
    classes = list(dataset.target.classes)
    colours = _class_colours(len(classes), dataset.target.ordinal)
    fig = go.Figure(
        [
            go.Bar(
                y=labels,
                x=shares[cls],
                name=cls,
                orientation="h",
                marker_color=colour,
                hovertemplate=f"%{{y}}<br>{html.escape(cls)}: %{{x:.1%}}<extra></extra>",
            )
            for cls, colour in zip(classes, colours)
        ]
    )
    fig.update_layout(barmode="stack", bargap=0.25)
    fig.add_hline(y=0.5, line={"dash": "dot", "color": "#52606d", "width": 1})
    fig.update_xaxes(
        title=f"share of {dataset.target.name} classes", tickformat=".0%", range=[0, 1]
    )
    fig.update_yaxes(autorange="reversed", type="category", title=None)
    return fig


def _plotly_numeric(
    frame: pd.DataFrame, spec: FeatureSpec, dataset: DatasetSchema
) -> go.Figure:
    import plotly.graph_objects as go  # noqa: PLC0415

    target = _target(frame, dataset)
    values = pd.to_numeric(frame[spec.name], errors="coerce").astype("float64")
    colours = _class_colours(len(dataset.target.classes), dataset.target.ordinal)
    fig = go.Figure(
        [
            go.Box(
                x=values[target == cls].dropna(),
                name=cls,
                marker_color=colour,
                boxpoints="all",
                boxmean=True,
                jitter=0.5,
                pointpos=-1.8,
                marker_size=4,
            )
            for cls, colour in zip(dataset.target.classes, colours)
        ]
    )
    fig.update_xaxes(title=spec.name)
    fig.update_yaxes(title=dataset.target.name, autorange="reversed", type="category")
    return fig


def _plotly_feature(
    frame: pd.DataFrame, spec: FeatureSpec, row: pd.Series, dataset: DatasetSchema
) -> go.Figure:
    if spec.is_categorical:
        fig, n_bars = _plotly_categorical(frame, spec, dataset), len(spec.values) + 1
    else:
        fig = _plotly_numeric(frame, spec, dataset)
        n_bars = 2 * len(dataset.target.classes)  # a box and its points per class
    ranks = f" · Spearman ρ {row['spearman']:.2f}" if pd.notna(row["spearman"]) else ""
    _plotly_layout(
        fig,
        f"#{row['rank']} {spec.name} ({spec.kind.value})",
        f"Cramér's V {row['cramers_v']:.2f} · MI {row['mutual_info']:.3f} nats"
        f"{ranks} · n = {row['n']}",
        150 + 30 * n_bars,
    )
    return fig


def _plotly_ranking(ranking: pd.DataFrame) -> go.Figure:
    import plotly.graph_objects as go  # noqa: PLC0415
    from plotly.subplots import make_subplots  # noqa: PLC0415

    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.05,
        subplot_titles=("Cramér's V (bias-corrected)", "mutual information (nats)"),
    )
    features = ranking["feature"].astype(str).tolist()
    for col, measure, colour in (
        (1, "cramers_v", "#35608d"),
        (2, "mutual_info", "#2a9d8f"),
    ):
        fig.add_trace(
            go.Bar(
                y=features,
                x=ranking[measure].fillna(0),
                orientation="h",
                marker_color=colour,
                text=ranking[measure].map("{:.3f}".format),
                textposition="outside",
                cliponaxis=False,
                hovertemplate="%{y}: %{x:.3f}<extra></extra>",
            ),
            row=1,
            col=col,
        )
    _plotly_layout(
        fig,
        "Association of each feature with the target",
        "features ranked, strongest first",
        200 + 30 * len(features),
    )
    fig.update_layout(margin={"t": 110})
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(rangemode="tozero")
    return fig


def _plotly_heatmap(matrix: pd.DataFrame) -> go.Figure:
    import plotly.graph_objects as go  # noqa: PLC0415

    labels = matrix.index.astype(str).tolist()
    fig = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy(float),
            x=labels,
            y=labels,
            zmin=0,
            zmax=1,
            colorscale="Blues",
            texttemplate="%{z:.2f}",
            textfont={"size": 10},
            colorbar={"title": {"text": "Cramér's V"}},
            hovertemplate="%{y} × %{x}: V = %{z:.3f}<extra></extra>",
        )
    )
    _plotly_layout(
        fig,
        "Association between every pair of columns",
        "bias-corrected Cramér's V; the target is the first row",
        300 + 38 * len(labels),
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(tickangle=-40, type="category")
    return fig


def _figure_div(fig: go.Figure, div_id: str) -> str:
    import plotly.io as pio  # noqa: PLC0415

    return pio.to_html(
        fig,
        full_html=False,
        include_plotlyjs=False,  # embedded once in <head>
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )


def _html_table(
    headers: list[str],
    rows: list[list[Any]],
    align: str,
    groups: list[tuple[str, int]] = (),
) -> str:
    """A table: ``align`` is ``l`` or ``r`` per column; ``groups`` adds a header row
    of ``(label, columns spanned)``."""
    esc, cls = html.escape, {"l": "", "r": ' class="num"'}
    group_row = "".join(
        f'<th colspan="{span}" class="group">{esc(label)}</th>'
        for label, span in groups
    )
    head = "".join(f"<th{cls[a]}>{esc(h)}</th>" for h, a in zip(headers, align))
    body = "".join(
        "<tr>"
        + "".join(f"<td{cls[a]}>{esc(str(v))}</td>" for v, a in zip(row, align))
        + "</tr>"
        for row in rows
    )
    group_row = f"<tr>{group_row}</tr>" if groups else ""
    return (
        f'<div class="scroll"><table class="table"><thead>{group_row}<tr>{head}</tr>'
        f"</thead><tbody>{body}</tbody></table></div>"
    )


def _count_share(count: int, share: float) -> str:
    return f"{count} ({_pct(share)})" if count else "0"


def _html_columns(columns: pd.DataFrame) -> str:
    rows = [
        [
            c["column"],
            f"target, {c['kind']}" if c["role"] == "target" else c["kind"],
            "text" if c["raw_type"] in {"string", "object", "str"} else c["raw_type"],
            c["raw_distinct"],
            _count_share(c["raw_missing"], c["raw_missing_share"]),
            c["clean_type"],
            c["clean_distinct"],
            _count_share(c["clean_missing"], c["clean_missing_share"]),
            c["values_respelled"],
            c["values_set_to_na"],
        ]
        for _, c in columns.iterrows()
    ]
    headers = ["column", "kind", "type", "distinct spellings", "missing", "type"]
    headers += ["distinct values", "missing", "values respelled", "values set to NA"]
    groups = [("", 2), ("raw file", 3), ("after cleaning", 3), ("cleaning changed", 2)]
    return _html_table(headers, rows, "lllrrlrrrr", groups)


def _html_overview(overview: dict[str, Any], columns: pd.DataFrame) -> str:
    raw, clean = overview["raw"], overview["clean"]
    shape = [["rows", raw["rows"], clean["rows"]]]
    shape += [["columns", raw["columns"], clean["columns"]]]
    reasons = [[r, n] for r, n in overview["quarantined_by_reason"].items()]
    dropped = ", ".join(map(str, overview["columns_dropped"])) or "none"
    return (
        '<div class="row"><div><h3>Shape</h3>'
        + _html_table(["", "raw file", "after cleaning"], shape, "lrr")
        + f"</div><div><h3>Rows set aside: {overview['rows_quarantined']}</h3>"
        + _html_table(["reason", "rows"], reasons or [["none", 0]], "lr")
        + "</div></div>"
        f"<p>Columns dropped: {html.escape(dropped)}. <i>Missing</i> counts empty "
        "cells and missing tokens; <i>distinct spellings</i> counts raw texts (missing "
        "tokens aside), so case and spacing variants count apart; <i>respelled</i>: "
        "values whose raw text differs from the canonical spelling; <i>set to NA</i>: "
        "values outside the allowed set (from data_processing's quality report).</p>"
        "<h3>Columns</h3>" + _html_columns(columns)
    )


def _fmt(value: float, spec: str = ".3f") -> str:
    return "" if pd.isna(value) else format(value, spec)


def _fmt_p(value: float) -> str:
    return "" if pd.isna(value) else "< 0.001" if value < 0.001 else f"{value:.3f}"  # noqa: PLR2004


def _html_ranking(ranking: pd.DataFrame) -> str:
    rows = [
        [
            r["rank"],
            r["feature"],
            r["kind"],
            r["n"],
            _fmt(r["cramers_v"]),
            _fmt(r["mutual_info"]),
            _fmt_p(r["chi2_p_value"]),
            _fmt(r["spearman"]),
            _fmt(r["kendall"]),
        ]
        for _, r in ranking.iterrows()
    ]
    headers = ["#", "feature", "kind", "n", "Cramér's V", "MI (nats)", "χ² p-value"]
    return _html_table([*headers, "Spearman ρ", "Kendall τ-b"], rows, "rllrrrrrr")


def _html_legend(dataset: DatasetSchema) -> str:
    target = dataset.target
    colours = _class_colours(len(target.classes), target.ordinal)
    swatches = "".join(
        f'<span class="swatch" style="background:{c}"></span>{html.escape(cls)}'
        for cls, c in zip(target.classes, colours)
    )
    order = " (lowest to highest)" if target.ordinal else ""
    return f'<p class="legend"><b>{html.escape(target.name)}</b>{order}: {swatches}</p>'


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
color:#1f2933;background:#f0f2f5}
main{max-width:1240px;margin:0 auto;padding:24px 32px 64px;background:#fff}
h1{margin-bottom:4px}h2{border-bottom:2px solid #e4e7eb;padding-bottom:4px;
margin-top:44px}.lead{color:#52606d}nav a{margin-right:16px}
.scroll{overflow-x:auto}
.table{border-collapse:collapse;font-size:13px;margin:8px 0 16px}
.table th,.table td{padding:4px 9px;border-bottom:1px solid #e4e7eb;text-align:left}
.table td{white-space:nowrap}
.table .num{text-align:right;font-variant-numeric:tabular-nums}
.table thead th{background:#f0f2f5}.table th.group{text-align:center;
border-bottom:2px solid #c9ced6}
.row{display:flex;gap:56px;flex-wrap:wrap}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(540px,1fr));gap:8px 24px}
.figure{margin:8px 0 20px;min-width:0}
.note{background:#f0f4f8;padding:8px 12px;border-left:4px solid #35608d}
.legend{font-size:14px}.swatch{display:inline-block;width:14px;height:14px;
margin:0 6px 0 16px;vertical-align:-2px;border-radius:2px}
.findings li{margin:6px 0}.topic{display:inline-block;min-width:124px;
font-size:12px;font-weight:600;color:#35608d;text-transform:uppercase}
"""


def render_html_report(
    rpt_eda_dataset_overview: dict[str, Any],
    rpt_eda_column_overview: pd.DataFrame,
    rpt_eda_target_distribution: pd.DataFrame,
    rpt_eda_association_ranking: pd.DataFrame,
    rpt_eda_association_matrix: pd.DataFrame,
    rpt_eda_findings: dict[str, Any],
    prm_students: pd.DataFrame,
    dataset: DatasetSchema,
) -> str:
    """The interactive report: one self-contained HTML page, plotly.js embedded.

    Sections: findings, overview, target, each feature against the target (strongest
    association first), association (ranking and heat map, measures stated).

    Args:
        rpt_eda_dataset_overview: Output of ``summarise_dataset``.
        rpt_eda_column_overview: Output of ``summarise_columns``.
        rpt_eda_target_distribution: Output of ``summarise_target``.
        rpt_eda_association_ranking: Output of ``rank_associations``.
        rpt_eda_association_matrix: Output of ``compute_association_matrix``.
        rpt_eda_findings: Output of ``write_findings``.
        prm_students: The rows kept; the schema's columns required.
        dataset: The schema.

    Returns:
        The HTML document; it loads nothing from the network.

    Raises:
        ValueError: A schema column is missing, or the ranking lists other features.
    """
    from plotly.offline import get_plotlyjs  # noqa: PLC0415

    _require_columns(prm_students, dataset.columns, "prm_students")
    features = _ranked_features(rpt_eda_association_ranking, dataset)
    figures = {
        "target": _figure_div(
            _plotly_target(rpt_eda_target_distribution, dataset), "fig-target"
        ),
        "features": "".join(
            '<div class="figure">'
            + _figure_div(_plotly_feature(prm_students, spec, row, dataset), f"fig-{i}")
            + "</div>"
            for i, (spec, row) in enumerate(features, start=1)
        ),
        "ranking": _figure_div(
            _plotly_ranking(rpt_eda_association_ranking), "fig-rank"
        ),
        "heatmap": _figure_div(
            _plotly_heatmap(rpt_eda_association_matrix.set_index("column")), "fig-heat"
        ),
    }
    sections = _html_sections(
        rpt_eda_dataset_overview,
        rpt_eda_column_overview,
        rpt_eda_association_ranking,
        rpt_eda_findings,
        figures,
        dataset,
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>EDA: {html.escape(dataset.name)}</title><style>{_CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head>'
        f"<body><main>{sections}</main></body></html>\n"
    )
    logger.info(
        "HTML report: %d figures, %.0f KB", len(features) + 3, len(page.encode()) / 1024
    )
    return page


def _html_sections(
    overview: dict[str, Any],
    columns: pd.DataFrame,
    ranking: pd.DataFrame,
    findings: dict[str, Any],
    figures: dict[str, str],
    dataset: DatasetSchema,
) -> str:
    target, esc = dataset.target, html.escape
    classes = (" < " if target.ordinal else ", ").join(target.classes)
    items = "".join(
        f'<li><span class="topic">{esc(f["topic"].replace("_", " "))}</span>'
        f"{esc(f['text'])}</li>"
        for f in findings["findings"]
    )
    return (
        f"<h1>Exploratory analysis: {esc(dataset.name)}</h1>"
        f'<p class="lead">{overview["clean"]["rows"]} rows after cleaning '
        f"({overview['raw']['rows']} in the raw file); target <b>{esc(target.name)}"
        f"</b> ({esc(classes)}); {len(dataset.features)} features.</p>"
        '<nav><a href="#findings">Findings</a><a href="#overview">Overview</a>'
        '<a href="#target">Target</a><a href="#features">Features vs target</a>'
        '<a href="#association">Association</a></nav>'
        f'<section id="findings"><h2>Findings</h2><ul class="findings">{items}</ul>'
        "</section>"
        '<section id="overview"><h2>Overview: the raw file and after cleaning</h2>'
        f"{_html_overview(overview, columns)}</section>"
        f'<section id="target"><h2>Target</h2>{figures["target"]}</section>'
        '<section id="features"><h2>Each feature against the target</h2>'
        '<p class="note">Features by bias-corrected Cramér\'s V with the target, '
        "strongest first. Categorical features: the share of each target class among "
        "the rows holding each value, values in schema order, all rows on top for "
        "reference. Numeric features: the distribution per class.</p>"
        f'{_html_legend(dataset)}<div class="grid">{figures["features"]}</div>'
        "</section>"
        '<section id="association"><h2>Association with the target</h2>'
        f'<p class="note"><b>Measures shown.</b> {esc(findings["measure"])}</p>'
        f"{figures['ranking']}{_html_ranking(ranking)}"
        "<h3>Feature by feature</h3>"
        '<p class="note">The heat map shows bias-corrected Cramér\'s V for every pair '
        "of columns, the target included.</p>"
        f"{figures['heatmap']}</section>"
    )
