"""The sentences of ``write_findings``: numbers from the eda tables turned into text."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ._stats import as_categories, pct

if TYPE_CHECKING:
    from student_performance.schema import DatasetSchema

    from .params import FindingsParams

MEASURE_NOTE = (
    "Cramér's V with Bergsma's bias correction (0 = independent, 1 = one column "
    "determines the other) on the contingency table of each pair, rows with both "
    "values only; mutual information in nats from the same table; Spearman's ρ and "
    "Kendall's τ-b on the class order, for ordinal or numeric features against an "
    "ordinal target only. Numeric features enter Cramér's V and mutual information "
    "in quantile bins."
)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _items(topic: str, sentences: list[str]) -> list[dict[str, str]]:
    return [{"topic": topic, "text": s} for s in sentences]


def association_findings(
    ranking: pd.DataFrame, target: str, findings: FindingsParams
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
    return _items("association", sentences)


def missing_findings(
    overview: pd.DataFrame, n_rows: int, findings: FindingsParams
) -> list[dict[str, str]]:
    limit = findings.high_missing_share
    high = overview[overview["clean_missing_share"] > limit]
    sentences = [
        f"{row['column']} is missing in {pct(row['clean_missing_share'])} of the rows "
        f"after cleaning ({row['clean_missing']} of {n_rows}), above the "
        f"{pct(limit)} threshold. Raw file: {_plural(row['raw_missing'], 'cell')} "
        f"({pct(row['raw_missing_share'])}) empty or a missing token, "
        f"{_plural(row['values_set_to_na'], 'value')} not allowed (set to NA)."
        for _, row in high.iterrows()
    ]
    if not sentences:
        worst = overview.loc[overview["clean_missing_share"].idxmax()]
        sentences = [
            f"No column has more than {pct(limit)} missing values after cleaning "
            f"(highest: {worst['column']}, {pct(worst['clean_missing_share'])})."
        ]
    return _items("missing", sentences)


def rare_value_findings(
    frame: pd.DataFrame, dataset: DatasetSchema, findings: FindingsParams
) -> list[dict[str, str]]:
    n_rows, limit, sentences = len(frame), findings.rare_value_share, []
    for spec in (s for s in dataset.features if s.is_categorical):
        counts = as_categories(frame, spec, bins=0).value_counts(sort=False)
        rare = counts[counts < limit * n_rows].sort_values()
        if rare.empty:
            continue
        listed = ", ".join(
            f"{value} ({_plural(count, 'row')})" for value, count in rare.items()
        )
        sentences.append(
            f"{spec.name} has {_plural(len(rare), 'rare value')} "
            f"(under {pct(limit)} of the {n_rows} rows): {listed}. Class shares for "
            "them rest on few rows; consider merging them."
        )
    if not sentences:
        sentences = [f"No feature value holds less than {pct(limit)} of the rows."]
    return _items("rare_values", sentences)


def imbalance_finding(
    distribution: pd.DataFrame, target: str, findings: FindingsParams
) -> dict[str, str]:
    largest = distribution.loc[distribution["count"].idxmax()]
    smallest = distribution.loc[distribution["count"].idxmin()]
    ratio = largest["count"] / max(smallest["count"], 1)  # 0 rows: said apart
    largest_class = (
        f"{largest['class']} is the largest class ({largest['count']} rows, "
        f"{pct(largest['share'])})"
    )
    counts = (
        f"{largest_class}, {smallest['class']} the smallest "
        f"({smallest['count']}, {pct(smallest['share'])}): a ratio of {ratio:.1f} : 1"
    )
    if smallest["count"] == 0:
        text = (
            f"The {target} class {smallest['class']} has no rows after cleaning: no "
            f"model can learn it. {largest_class}."
        )
    elif largest["count"] == smallest["count"]:
        text = f"The {target} classes are balanced: {largest['count']} rows each."
    elif ratio > findings.imbalance_ratio:
        text = (
            f"The {target} classes are imbalanced. {counts}, above "
            f"{findings.imbalance_ratio:g}. Always predicting {largest['class']} "
            f"scores {pct(largest['share'])} accuracy: use stratified splits and "
            "macro-averaged metrics."
        )
    else:
        text = (
            f"The {target} classes are balanced enough. {counts}, within "
            f"{findings.imbalance_ratio:g}."
        )
    return {"topic": "class_balance", "text": text}
