"""Association measures and the tables behind the eda_reporting nodes.

Every column is reached through the ``DatasetSchema``: the target as a categorical in
class order, categorical features in schema order, numeric features in quantile bins.
scipy is imported inside the functions that test (0.6 s, only when measuring).
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from student_performance.core.cleaning import (
    clean_text,
    normalise_frame,
)
from student_performance.schema import DatasetSchema, FeatureKind, FeatureSpec

ALL_ROWS = "(all rows)"  # label of the reference bar above each feature's values
MEASURES = ("cramers_v", "mutual_info", "spearman", "kendall")  # MLflow metrics too


def pct(share: float) -> str:
    return f"{100 * share:.1f} %"


# --- schema-driven column access ----------------------------------------------------


def require_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing} named in the schema")


def _categorical(
    frame: pd.DataFrame, name: str, values: tuple[str, ...], ordered: bool
) -> pd.Series:
    """``frame[name]`` as a categorical of ``values`` (others become NA)."""
    return pd.Series(
        pd.Categorical(frame[name], list(values), ordered),
        index=frame.index,
        name=name,
    )


def target(frame: pd.DataFrame, dataset: DatasetSchema) -> pd.Series:
    """The target as a categorical in class order (values outside it become NA)."""
    spec = dataset.target
    return _categorical(frame, spec.name, spec.classes, spec.ordinal)


def numeric_values(values: pd.Series) -> pd.Series:
    """A numeric column as float64, anything not a number NaN."""
    return pd.to_numeric(values, errors="coerce").astype("float64")


def bin_numeric(values: pd.Series, bins: int) -> pd.Series:
    """Quantile bins of a numeric column, as an ordered categorical ``"lo–hi"``."""
    numbers = numeric_values(values)
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


def as_categories(frame: pd.DataFrame, spec: FeatureSpec, bins: int) -> pd.Series:
    """A feature as a categorical: its values in schema order, or numeric bins.

    ``bins`` matters for numeric features only (callers pass 0 for categorical ones).
    """
    if not spec.is_categorical:
        return bin_numeric(frame[spec.name], bins)
    return _categorical(frame, spec.name, spec.values, spec.kind is FeatureKind.ORDINAL)


def counts_by_class(
    frame: pd.DataFrame, spec: FeatureSpec, dataset: DatasetSchema, bins: int
) -> pd.DataFrame:
    """Rows per feature value (schema order, unseen values too) and target class."""
    values, classes = as_categories(frame, spec, bins), target(frame, dataset)
    both = values.notna() & classes.notna()
    counts = pd.crosstab(values[both], classes[both])
    return counts.reindex(
        index=values.cat.categories, columns=classes.cat.categories, fill_value=0
    ).rename_axis(index="value", columns="class")


def _row_shares(counts: pd.DataFrame) -> pd.DataFrame:
    """Each row of ``counts`` over its total (NaN for a row of zeros)."""
    return counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0)


def shares_with_reference(counts: pd.DataFrame) -> pd.DataFrame:
    """Class shares per value, with an ``ALL_ROWS`` row first; ``n`` per row."""
    counts = pd.concat([counts.sum().to_frame(ALL_ROWS).T, counts])
    return _row_shares(counts).fillna(0.0).assign(n=counts.sum(axis=1))


def ranked_features(
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


# --- association measures -----------------------------------------------------------


def pair_table(x: pd.Series, y: pd.Series) -> np.ndarray:
    """Contingency table of two categoricals, complete pairs, observed levels only."""
    both = x.notna() & y.notna()
    table = pd.crosstab(x[both], y[both]).to_numpy(dtype=float)
    if table.size == 0:
        return np.zeros((0, 0))
    return table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]


def cramers_v(table: np.ndarray) -> float:
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


def mutual_information(table: np.ndarray) -> float:
    """Mutual information in nats of the joint distribution in ``table``."""
    n = table.sum()
    if n == 0:
        return math.nan
    joint = table / n
    independent = np.outer(joint.sum(axis=1), joint.sum(axis=0))
    seen = joint > 0
    return float((joint[seen] * np.log(joint[seen] / independent[seen])).sum())


def chi2_p_value(table: np.ndarray) -> float:
    from scipy import stats  # noqa: PLC0415 - 0.6 s: only when measuring

    if min(table.shape, default=0) < 2:  # noqa: PLR2004
        return math.nan
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def rank_correlations(x: pd.Series, y: pd.Series) -> dict[str, float]:
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


def _positions(values: pd.Series) -> pd.Series:
    """A categorical's position in its order (0, 1, ...), NaN where it is missing."""
    codes = values.cat.codes.to_numpy()
    return pd.Series(np.where(codes >= 0, codes, np.nan), index=values.index)


def _order_scores(frame: pd.DataFrame, spec: FeatureSpec) -> pd.Series:
    """An ordinal feature's position in its order, or a numeric feature's value."""
    if spec.kind is FeatureKind.NUMERIC:
        return numeric_values(frame[spec.name])
    return _positions(as_categories(frame, spec, bins=0))


def association_row(
    frame: pd.DataFrame, spec: FeatureSpec, dataset: DatasetSchema, bins: int
) -> dict[str, Any]:
    """Every measure of ``spec``'s association with the target (one ranking row)."""
    classes = target(frame, dataset)
    table = pair_table(as_categories(frame, spec, bins), classes)
    ranks = {"spearman": math.nan, "kendall": math.nan}
    if dataset.target.ordinal and spec.kind is not FeatureKind.NOMINAL:
        ranks = rank_correlations(_order_scores(frame, spec), _positions(classes))
    return {
        "feature": spec.name,
        "kind": spec.kind.value,
        "n": int(table.sum()),
        "levels": int(table.shape[0]),
        "cramers_v": cramers_v(table),
        "mutual_info": mutual_information(table),
        "chi2_p_value": chi2_p_value(table),
        **ranks,
    }


def rank_rows(rows: list[dict[str, Any]], rank_by: str) -> pd.DataFrame:
    """``association_row`` results, strongest first, numbered and rounded."""
    ranking = (
        pd.DataFrame(rows)
        .sort_values(rank_by, ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    ranking.insert(0, "rank", range(1, len(ranking) + 1))
    ranking[list(MEASURES)] = ranking[list(MEASURES)].astype(float).round(4)
    ranking["chi2_p_value"] = ranking["chi2_p_value"].map(lambda p: float(f"{p:.3g}"))
    return ranking


def cramers_v_matrix(columns: dict[str, pd.Series]) -> np.ndarray:
    """Cramér's V between every pair of ``columns``; 1 on the diagonal."""
    series = list(columns.values())
    values = np.eye(len(series))
    for i, j in combinations(range(len(series)), 2):
        values[i, j] = values[j, i] = cramers_v(pair_table(series[i], series[j]))
    return values


# --- tables -------------------------------------------------------------------------


def feature_table(
    frame: pd.DataFrame, spec: FeatureSpec, dataset: DatasetSchema, bins: int
) -> pd.DataFrame:
    """One feature's ``value``, ``class``, ``count``, ``share``, ``feature`` rows."""
    counts = counts_by_class(frame, spec, dataset, bins)
    part = pd.DataFrame(
        {
            "count": counts.stack(future_stack=True),
            "share": _row_shares(counts).stack(future_stack=True).round(4),
        }
    ).reset_index()
    return part.assign(feature=spec.name)


def _type_label(values: pd.Series) -> str:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        kind = "ordered categorical" if dtype.ordered else "categorical"
        return f"{kind} ({len(dtype.categories)} values)"
    return str(dtype)


def _column_row(
    name: str,
    raw: pd.Series,
    typed: pd.Series,
    clean: pd.Series,
    column: dict[str, Any],
    dataset: DatasetSchema,
) -> dict[str, Any]:
    """One column's row: ``raw`` as read, ``typed`` as cleaning makes it now,
    ``clean`` as kept, ``column`` its entry in the quality report."""
    text = raw.astype("string")
    cleaned = clean_text(text, dataset.missing_tokens)
    spec = None if name == dataset.target.name else dataset.feature(name)
    numeric = spec is not None and not spec.is_categorical
    canonical = cleaned if numeric else typed.astype("string")
    respelled = typed.notna() & (text != canonical).fillna(True)
    return {
        "column": name,
        "role": "target" if spec is None else "feature",
        "kind": ("ordinal" if dataset.target.ordinal else "nominal")
        if spec is None
        else spec.kind.value,
        "raw_type": str(text.dtype),
        "clean_type": _type_label(clean),
        "raw_distinct": int(text[cleaned.notna()].nunique()),
        "clean_distinct": int(clean.nunique()),
        "raw_missing": column["missing_before"]["count"],
        "raw_missing_share": column["missing_before"]["share"],
        "clean_missing": column["missing_after"]["count"],
        "clean_missing_share": column["missing_after"]["share"],
        "values_respelled": int(respelled.sum()),
        "values_set_to_na": int(sum(column["invalid_values"].values())),
    }


def column_summary(
    raw_students: pd.DataFrame,
    prm_students: pd.DataFrame,
    quality: dict[str, Any],
    dataset: DatasetSchema,
) -> pd.DataFrame:
    """The table of ``summarise_columns``: one row per schema column, target first."""
    raw = raw_students.loc[:, dataset.columns]
    typed = normalise_frame(raw, dataset)
    rows = [
        _column_row(
            name, raw[name], typed[name], prm_students[name], quality[name], dataset
        )
        for name in dataset.columns
    ]
    return pd.DataFrame(rows)
