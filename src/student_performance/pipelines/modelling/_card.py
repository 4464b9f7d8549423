"""The model card: a short Markdown page per trained model, generated from its figures
(``build_model_card``, the node, and its renderer)."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from student_performance.models.estimators import describe_decision
from student_performance.schema import DatasetSchema

from ._fairness import group_card_section

logger = logging.getLogger(__name__)

_CARD_METRICS = (
    ("accuracy", "accuracy"),
    ("f1_macro", "macro F1"),
    ("quadratic_weighted_kappa", "QWK"),
    ("log_loss", "log loss"),
    ("brier", "Brier"),
    ("ece", "ECE"),
)
# A class whose set coverage falls this far below the level is named in the limits.
_COVERAGE_SLACK = 0.05


def _cell(row: Any, metric: str) -> str:
    return f"{row[f'{metric}_mean']:.3f} ± {row[f'{metric}_std']:.3f}"


def _candidates_table(summary: pd.DataFrame, selected: str) -> list[str]:
    header = "| candidate | " + " | ".join(label for _, label in _CARD_METRICS) + " |"
    lines = [header, "|---" * (len(_CARD_METRICS) + 1) + "|"]
    for _, row in summary.iterrows():
        name = row["candidate"] + (
            " (selected)" if row["candidate"] == selected else ""
        )
        cells = " | ".join(_cell(row, m) for m, _ in _CARD_METRICS)
        lines.append(f"| {name} | {cells} |")
    return lines


def _limits(sets: dict[str, Any], groups: dict[str, Any] | None) -> list[str]:
    limits = [
        "- Ranking is at what these pre-exam features allow: the project's study of "
        "other model families found none that ranks students better; about half of "
        "the single-class answers are wrong, so read the prediction set.",
        "- Figures hold for students drawn like the training file; drift monitoring "
        "says when new batches differ.",
    ]
    under = [
        f"{name} ({figures['coverage']:.2f})"
        for name, figures in sets["per_class"].items()
        if figures["coverage"] < sets["level"] - _COVERAGE_SLACK
    ]
    if under:
        hint = (
            "; `conformal.mode: class_conditional` covers every class at the level "
            "with larger sets"
            if sets["mode"] == "marginal"
            else ""
        )
        limits.append(
            f"- Set coverage is {sets['mode']}: for students whose true class is "
            f"{', '.join(under)} the sets hold the truth less often than "
            f"{sets['level']:.0%}{hint}."
        )
    return limits + _group_limits(sets, groups)


def _group_limits(sets: dict[str, Any], groups: dict[str, Any] | None) -> list[str]:
    """Groups (not small) whose set coverage falls short of the level."""
    under = [
        f"{feature} = {group} ({figures['coverage']:.2f})"
        for feature, part in (groups or {}).get("features", {}).items()
        for group, figures in part["groups"].items()
        if not figures["small"]
        and figures["coverage"] < sets["level"] - _COVERAGE_SLACK
    ]
    if not under:
        return []
    return [
        f"- The sets hold the truth less often than {sets['level']:.0%} for "
        f"{', '.join(under)}; `conformal.mode: group_conditional` covers each group "
        "of one feature at the level."
    ]


def _calibration_and_sets(report: dict[str, Any]) -> list[str]:
    """The card's calibration and prediction-set sections."""
    cv, std, sets = report["cv"], report["cv_std"], report["prediction_sets"]
    per_class = ", ".join(
        f"{name} {figures['coverage']:.2f}"
        for name, figures in sets["per_class"].items()
    )
    return [
        "## Calibration",
        f"- Repeated CV: log loss {cv['log_loss']:.3f} ± {std['log_loss']:.3f}, Brier "
        f"{cv['brier']:.3f} ± {std['brier']:.3f}, top-label ECE (10 bins) "
        f"{cv['ece']:.3f} ± {std['ece']:.3f}.",
        f"- Holdout: log loss {report['holdout']['log_loss']:.3f}, ECE "
        f"{report['holdout']['ece']:.3f}, QWK "
        f"{report['holdout']['quadratic_weighted_kappa']:.3f}.",
        "",
        "## Prediction sets",
        f"- Level {sets['level']:.0%} ({sets['mode']}, "
        f"{'contiguous' if sets['contiguous'] else 'any'} classes), cross-conformal "
        "thresholds from out-of-fold probabilities.",
        f"- Repeated CV: coverage {sets['coverage']:.3f} ± {sets['coverage_std']:.3f}, "
        f"mean set size {sets['set_size']:.2f} ± {sets['set_size_std']:.2f}.",
        f"- Coverage by true class: {per_class}.",
        "",
    ]


def render_model_card(
    report: dict[str, Any],
    summary: pd.DataFrame,
    rows: dict[str, int],
    dataset_name: str,
    groups: dict[str, Any] | None = None,
) -> str:
    """The card as Markdown.

    Args:
        report: The selected model's report (``report_selected_model``).
        summary: One row per candidate (``rpt_cv_summary``).
        rows: ``development`` and ``holdout`` row counts.
        dataset_name: The schema's name.
        groups: The group report (``report_groups``); ``None``: no such section.

    Returns:
        Markdown text.
    """
    decision = report.get("decision") or {"rule": "estimator", "cost": "absolute"}
    lines = [
        f"# Model card: {report['model']}",
        "",
        "## Data",
        f"- Dataset `{dataset_name}`: {rows['development'] + rows['holdout']} rows "
        f"after cleaning; {rows['development']} for development (selection by "
        f"repeated CV, then the final fit), {rows['holdout']} held out and scored once.",
        "",
        "## Model",
        f"- `{report['estimator']}` with {report['params']}, selected by "
        f"{report['primary_metric']} (repeated stratified CV).",
        f"- Decision rule: {describe_decision(decision['rule'], decision['cost'])}.",
        "",
        "## Candidates (repeated CV on the development part, mean ± std)",
        "",
        *_candidates_table(summary, report["model"]),
        "",
        *_calibration_and_sets(report),
        *(group_card_section(groups) if groups and groups["features"] else []),
        "## Known limits",
        *_limits(report["prediction_sets"], groups),
        "",
    ]
    return "\n".join(lines)


def build_model_card(
    rpt_selected_model_metrics: dict[str, Any],
    rpt_cv_summary: pd.DataFrame,
    mi_development: pd.DataFrame,
    mi_holdout: pd.DataFrame,
    dataset: DatasetSchema,
    rpt_group_report: dict[str, Any] | None = None,
) -> str:
    """A short Markdown card of the trained model (logged with the run's artifacts).

    Args:
        rpt_selected_model_metrics: Output of ``report_selected_model``.
        rpt_cv_summary: One row per candidate.
        mi_development: The development part (its row count).
        mi_holdout: The holdout (its row count).
        dataset: The schema (its name).
        rpt_group_report: The group report (``report_groups``).

    Returns:
        The card: data, rows, candidates (mean ± std), calibration, prediction-set
        coverage, the figures by group of each sensitive feature, the decision rule
        and known limits.
    """
    rows = {"development": len(mi_development), "holdout": len(mi_holdout)}
    card = render_model_card(
        rpt_selected_model_metrics,
        rpt_cv_summary,
        rows,
        dataset.name,
        rpt_group_report,
    )
    logger.info("Model card: %d lines", card.count("\n"))
    return card
