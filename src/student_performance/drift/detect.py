"""Compare a typed batch with the reference: per-column tests, levels, one verdict.

Pure functions on typed frames (the primary table's dtypes). A column's distribution
is flagged only when the Benjamini-Hochberg adjusted p-value (across all the batch's
columns) is below ``alpha`` AND its PSI reaches the warning / drift level; missing-value
shares and values never seen in the reference are separate checks with their own
levels. See ``DriftTestsParams`` for every knob.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from student_performance.schema import DatasetSchema, FeatureKind

from . import stats
from .settings import DriftTestsParams
from .verdict import column_alerts, not_assessed, verdict, worst_level


@dataclass(frozen=True)
class ColumnProfile:
    """One column's observed values: category counts, or numeric values.

    ``counts`` follow ``categories`` (categorical columns); ``values`` are the non-missing
    numbers (numeric columns); ``missing`` counts NA.
    """

    name: str
    kind: str
    categories: tuple[str, ...] = ()
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    missing: int = 0

    @property
    def n_rows(self) -> int:
        observed = int(self.counts.sum()) if self.categories else len(self.values)
        return observed + self.missing


def _column_spec(name: str, dataset: DatasetSchema) -> tuple[str, tuple[str, ...]]:
    if name == dataset.target.name:
        kind = "ordinal" if dataset.target.ordinal else "nominal"
        return kind, tuple(dataset.target.classes)
    spec = dataset.feature(name)
    return spec.kind.value, tuple(spec.values)


def profile_column(series: pd.Series, dataset: DatasetSchema) -> ColumnProfile:
    """Counts (categorical) or values (numeric) of one typed column."""
    kind, categories = _column_spec(str(series.name), dataset)
    if kind == FeatureKind.NUMERIC.value:
        values = pd.to_numeric(series, errors="coerce").astype("Float64")
        numbers = values.dropna().to_numpy(dtype=float)
        return ColumnProfile(
            str(series.name), kind, values=numbers, missing=int(values.isna().sum())
        )
    typed = isinstance(series.dtype, pd.CategoricalDtype)
    if not typed or tuple(series.cat.categories) != categories:
        series = series.astype(pd.CategoricalDtype(list(categories)))
    codes = series.cat.codes.to_numpy()
    counts = np.bincount(codes + 1, minlength=len(categories) + 1)
    return ColumnProfile(
        str(series.name),
        kind,
        categories,
        counts[1:].astype(np.int64),
        missing=int(counts[0]),
    )


def profile_frame(
    frame: pd.DataFrame, dataset: DatasetSchema
) -> dict[str, ColumnProfile]:
    """Profiles of every schema column present in ``frame``, in schema order."""
    return {
        name: profile_column(frame[name], dataset)
        for name in dataset.columns
        if name in frame.columns
    }


def json_float(value: float | None) -> float | None:
    """A JSON-friendly float with 6 significant digits (NaN and None become None)."""
    if value is None or not np.isfinite(value):
        return None
    return float(f"{float(value):.6g}")


def _categorical_distribution(
    ref: ColumnProfile,
    cur: ColumnProfile,
    thresholds: DriftTestsParams,
    rng: np.random.Generator,
) -> dict[str, Any]:
    chi2 = stats.chi2_homogeneity(
        ref.counts,
        cur.counts,
        thresholds.min_expected_count,
        thresholds.monte_carlo_samples,
        rng,
    )
    rank = stats.rank_test(ref.counts, cur.counts) if ref.kind == "ordinal" else None
    tests = [t for t in (chi2, rank) if t is not None]
    # Two tests on one column: Bonferroni within the column, BH across columns.
    p_value = min(1.0, len(tests) * min(t.p_value for t in tests)) if tests else None
    return {
        "test": "+".join(t.method for t in tests) or None,
        "statistic": json_float(chi2.statistic) if chi2 else None,
        "p_value": p_value,
        "rank_z": json_float(rank.statistic) if rank else None,
        "rank_p": json_float(rank.p_value) if rank else None,
        # No observed value on one side (e.g. an all-missing column): no effect size;
        # the missing-share check speaks for it.
        "psi": stats.psi(ref.counts, cur.counts, thresholds.psi_epsilon)
        if tests
        else None,
        "js": json_float(stats.js_distance(ref.counts, cur.counts)) if tests else None,
        "reference_share": dict(
            zip(ref.categories, map(json_float, stats.shares(ref.counts)), strict=True)
        ),
        "current_share": dict(
            zip(cur.categories, map(json_float, stats.shares(cur.counts)), strict=True)
        ),
    }


def _numeric_distribution(
    ref: ColumnProfile, cur: ColumnProfile, thresholds: DriftTestsParams
) -> dict[str, Any]:
    ks = stats.ks_test(ref.values, cur.values)
    if ks is None:
        return {
            "test": None,
            "statistic": None,
            "p_value": None,
            "psi": None,
            "js": None,
            "wasserstein": None,
            "reference_share": {},
            "current_share": {},
        }
    edges = stats.quantile_edges(ref.values, thresholds.numeric_bins)
    ref_bins, cur_bins = (
        stats.bin_counts(ref.values, edges),
        stats.bin_counts(cur.values, edges),
    )
    labels = stats.bin_labels(edges)
    return {
        "test": ks.method,
        "statistic": json_float(ks.statistic),
        "p_value": ks.p_value,
        "psi": stats.psi(ref_bins, cur_bins, thresholds.psi_epsilon),
        "js": json_float(stats.js_distance(ref_bins, cur_bins)),
        "wasserstein": json_float(stats.normalised_wasserstein(ref.values, cur.values)),
        "reference_share": dict(
            zip(labels, map(json_float, stats.shares(ref_bins)), strict=True)
        ),
        "current_share": dict(
            zip(labels, map(json_float, stats.shares(cur_bins)), strict=True)
        ),
    }


def _missing_change(
    ref: ColumnProfile, cur: ColumnProfile, not_allowed: int
) -> dict[str, Any]:
    """Missing shares and a one-sided test that the batch's share went up.

    Values the schema does not allow are NA in the typed batch but were not missing:
    they are the unseen check's, so ``not_allowed`` of them are not counted here.
    """
    missing = max(cur.missing - not_allowed, 0)
    test = stats.increase_test(ref.missing, ref.n_rows, missing, cur.n_rows)
    ref_share = ref.missing / ref.n_rows if ref.n_rows else 0.0
    cur_share = missing / cur.n_rows if cur.n_rows else 0.0
    return {
        "reference": json_float(ref_share),
        "current": json_float(cur_share),
        "change": json_float(cur_share - ref_share),
        "test": test.method if test else None,
        "p_value": test.p_value if test else None,
    }


def _unseen(
    ref: ColumnProfile, cur: ColumnProfile, raw_unseen: dict[str, int]
) -> dict[str, Any]:
    """Values never seen in the reference: not allowed by the schema, or allowed
    categories absent from the reference (``new_in_batch``, each with the p-value of a
    one-sided Fisher test that a reference drawn from the batch's population would
    have missed it; ``compare_profiles`` adjusts them over every category).

    A reference of a few hundred rows misses rare categories: a batch meeting one a
    few times is not news, a batch full of it is.
    """
    new, new_p = {}, {}
    if ref.categories:
        n_ref, n_cur = ref.n_rows - ref.missing, cur.n_rows - cur.missing
        for category, ref_count, cur_count in zip(
            ref.categories, ref.counts, cur.counts, strict=True
        ):
            if ref_count == 0 and cur_count > 0:
                new[category] = int(cur_count)
                test = stats.increase_test(0, n_ref, int(cur_count), n_cur)
                new_p[category] = test.p_value if test else 1.0
    return {
        "not_allowed": dict(raw_unseen),
        "new_in_batch": new,
        "new_in_batch_p": new_p,
    }


def compare_column(
    ref: ColumnProfile,
    cur: ColumnProfile,
    raw_unseen: dict[str, int],
    thresholds: DriftTestsParams,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Tests, effect sizes, missing-share change and unseen values of one column.

    p-values are raw here; ``compare_profiles`` adjusts them across columns.
    """
    if ref.kind == FeatureKind.NUMERIC.value:
        distribution = _numeric_distribution(ref, cur, thresholds)
    else:
        distribution = _categorical_distribution(ref, cur, thresholds, rng)
    distribution["psi"] = json_float(distribution["psi"])
    return {
        "column": ref.name,
        "kind": ref.kind,
        **distribution,
        "n_reference": ref.n_rows - ref.missing,
        "n_current": cur.n_rows - cur.missing,
        "missing": _missing_change(ref, cur, sum(raw_unseen.values())),
        "unseen": _unseen(ref, cur, raw_unseen),
    }


def _adjust_new_categories(
    rows: list[dict[str, Any]], reference: dict[str, ColumnProfile]
) -> list[dict[str, float]]:
    """Benjamini-Hochberg over every category of every compared column (a category
    seen in the reference counts as a test with p = 1)."""
    tested = [
        (i, category, p)
        for i, row in enumerate(rows)
        for category, p in row["unseen"]["new_in_batch_p"].items()
    ]
    n_categories = sum(len(reference[row["column"]].categories) for row in rows)
    padding = [1.0] * max(n_categories - len(tested), 0)
    adjusted = stats.benjamini_hochberg([p for *_, p in tested] + padding)
    per_row: list[dict[str, float]] = [{} for _ in rows]
    for (i, category, _), p_adj in zip(tested, adjusted, strict=False):
        per_row[i][category] = p_adj
    return per_row


def _count_unseen(
    unseen: dict[str, Any], adjusted: dict[str, float], n_rows: int, alpha: float
) -> None:
    """Set the unseen ``count``, ``share`` and ``values``: values not allowed, plus
    the categories new in the batch whose adjusted p-value is below ``alpha``."""
    values = dict(unseen["not_allowed"])
    values |= {
        category: count
        for category, count in unseen["new_in_batch"].items()
        if adjusted[category] < alpha
    }
    count = sum(values.values())
    unseen.update(
        new_in_batch_p={c: json_float(p) for c, p in unseen["new_in_batch_p"].items()},
        new_in_batch_p_adjusted={c: json_float(p) for c, p in adjusted.items()},
        values=values,
        count=count,
        share=json_float(count / n_rows) if n_rows else 0.0,
    )


def _raw_unseen(unseen: pd.DataFrame) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for column, value, count in unseen[["column", "value", "count"]].itertuples(
        index=False
    ):
        table.setdefault(str(column), {})[str(value)] = int(count)
    return table


def _judge_row(
    row: dict[str, Any],
    role: str,
    p_adjusted: float,
    p_missing: float,
    thresholds: DriftTestsParams,
) -> list[dict[str, Any]]:
    """Set a compared column's adjusted p-values, level and reason; its alerts."""
    row.update(
        role=role, p_value=json_float(row["p_value"]), p_adjusted=json_float(p_adjusted)
    )
    row["missing"].update(
        p_value=json_float(row["missing"]["p_value"]),
        p_adjusted=json_float(p_missing),
    )
    alerts = column_alerts(row, role, thresholds)
    row["level"] = worst_level([a["level"] for a in alerts])
    row["flagged"] = row["level"] != "ok"
    row["reason"] = "; ".join(a["message"] for a in alerts) or None
    return alerts


def compare_profiles(
    reference: dict[str, ColumnProfile],
    current: dict[str, ColumnProfile],
    unseen: pd.DataFrame,
    *,
    dataset: DatasetSchema,
    thresholds: DriftTestsParams,
    seed: int,
) -> dict[str, Any]:
    """The drift report of a batch against the reference.

    Args:
        reference: Profiles of the reference (``profile_frame`` of the primary table).
        current: Profiles of the batch (its columns: the features, maybe the target).
        unseen: Raw values the schema does not allow (``clean_batch``'s second output).
        dataset: The schema (which column is the target).
        thresholds: Tests and levels.
        seed: Seed of the Monte-Carlo p-values (one stream per column).

    Returns:
        ``status`` (``ok`` / ``warning`` / ``drift`` / ``insufficient_data``),
        ``status_code``, ``retrain_recommended``, ``action``, ``reasons``, ``alerts``,
        ``rows`` and ``columns`` (one entry per column: test, statistic, p, adjusted
        p, PSI, JS, missing-share change, unseen values, level, reasons).
    """
    n_rows = next(iter(current.values())).n_rows if current else 0
    if n_rows < thresholds.min_rows:
        message = (
            f"collect more rows: the batch has {n_rows}, at least "
            f"{thresholds.min_rows} are needed for a verdict"
        )
        return not_assessed("insufficient_data", n_rows, message)
    raw_unseen = _raw_unseen(unseen)
    rows = [
        compare_column(
            reference[name],
            profile,
            raw_unseen.get(name, {}),
            thresholds,
            np.random.default_rng([seed, position]),
        )
        for position, (name, profile) in enumerate(current.items())
    ]
    adjusted = stats.benjamini_hochberg([r["p_value"] for r in rows])
    missing = stats.benjamini_hochberg([r["missing"]["p_value"] for r in rows])
    new = _adjust_new_categories(rows, reference)
    alerts = []
    for row, p_adj, p_missing, p_new in zip(rows, adjusted, missing, new, strict=True):
        _count_unseen(row["unseen"], p_new, n_rows, thresholds.alpha)
        role = "target" if row["column"] == dataset.target.name else "feature"
        alerts += _judge_row(row, role, p_adj, p_missing, thresholds)
    return {
        **verdict(alerts, thresholds),
        "rows": n_rows,
        "thresholds": thresholds.model_dump(mode="json"),
        "columns": rows,
    }
