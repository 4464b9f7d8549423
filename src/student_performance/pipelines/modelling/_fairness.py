"""The group report node (``core.groups`` on the selection's out-of-fold rows) and its
renderings: the model card's section, the comparison report's table and the
``fairness.*`` MLflow metrics."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from student_performance.core.groups import FairnessParams, group_report
from student_performance.models.metrics import metric_name
from student_performance.schema import DatasetSchema

logger = logging.getLogger(__name__)

# The columns of the card's and the comparison report's group table.
_TABLE = (
    ("accuracy", "accuracy"),
    ("f1_macro", "macro F1"),
    ("quadratic_weighted_kappa", "QWK"),
    ("log_loss", "log loss"),
    ("ece", "ECE"),
    ("coverage", "set coverage"),
    ("set_size", "set size"),
)


def report_groups(
    pred_set_rows: pd.DataFrame,
    mi_development: pd.DataFrame,
    dataset: DatasetSchema,
    fairness: FairnessParams,
    rpt_prediction_sets: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """Figures per group of every sensitive feature, and their MLflow metrics.

    Args:
        pred_set_rows: The out-of-fold rows of ``cross_validate_sets``.
        mi_development: The development part (the sensitive columns).
        dataset: The schema (``sensitive_features``, the classes).
        fairness: ``min_group_rows``, ``n_bootstrap``, ``seed``.
        rpt_prediction_sets: The sets' report (its level, mode and per-class
            coverage go beside the group table).

    Returns:
        The group report (``core.groups.group_report`` plus ``level``, ``mode`` and
        ``per_class``) and the ``fairness.*`` metrics.
    """
    report = group_report(
        pred_set_rows,
        mi_development,
        list(dataset.sensitive_features),
        list(dataset.target.classes),
        fairness,
    )
    report |= {
        "level": rpt_prediction_sets["level"],
        "mode": rpt_prediction_sets["mode"],
        "per_class": rpt_prediction_sets["per_class"],
    }
    for metric, worst in report["worst"].items():
        logger.info(
            "Worst group by %s: %s = %s (%.3f)",
            metric,
            worst["feature"],
            worst["group"],
            worst["value"],
        )
    return report, fairness_metrics(report)


def fairness_metrics(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``<feature>.<group>.<figure>`` (with ``.n`` and ``.small``),
    ``<feature>.gap.<figure>`` and ``worst.<figure>``; undefined figures left out."""
    values: dict[str, float | None] = {}
    for feature, part in report["features"].items():
        f = metric_name(feature)
        for group, figures in part["groups"].items():
            g = metric_name(group)
            values |= {f"{f}.{g}.{k}": float(v) for k, v in figures.items()}
        values |= {f"{f}.gap.{k}": gap["gap"] for k, gap in part["gaps"].items()}
    values |= {f"worst.{k}": w["value"] for k, w in report["worst"].items()}
    return {
        key: {"value": value, "step": 0}
        for key, value in values.items()
        if value is not None and value == value  # noqa: PLR0124 - NaN is left out
    }


def _number(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.3f}"  # noqa: PLR0124


def group_rows(report: dict[str, Any]) -> list[list[str]]:
    """One row per feature and group: feature, group, n (flagged when small), the
    figures and the predicted shares; then one row of gaps per feature."""
    rows = []
    for feature, part in report["features"].items():
        for group, figures in part["groups"].items():
            shares = ", ".join(
                f"{k.removeprefix('share_')} {v:.2f}"
                for k, v in figures.items()
                if k.startswith("share_")
            )
            n = f"{figures['n']}" + (" (small)" if figures["small"] else "")
            cells = [_number(figures[m]) for m, _ in _TABLE]
            rows.append([feature, group, n, *cells, shares])
        gaps = [
            f"{_number(g['gap'])} [{_number(g['low'])}, {_number(g['high'])}]"
            for g in (part["gaps"][m] for m, _ in _TABLE)
        ]
        rows.append([feature, "largest gap [95 % CI]", "", *gaps, ""])
    return rows


def group_card_section(report: dict[str, Any]) -> list[str]:
    """The model card's section: the group table, worst groups, per-class coverage."""
    header = ["feature", "group", "n", *(label for _, label in _TABLE), "predicted"]
    lines = [
        "## Fairness by group",
        f"- Out-of-fold predictions of the selected configuration on repeated CV; "
        f"sets at {report['level']:.0%} ({report['mode']}). n: distinct students; "
        f"groups under {report['min_group_rows']} are flagged (small) and left out "
        "of the gaps and the worst group. Gaps: largest minus smallest group, "
        f"bootstrap 95 % interval ({report['n_bootstrap']} resamples of students).",
        "",
        "| " + " | ".join(header) + " |",
        "|---" * len(header) + "|",
        *("| " + " | ".join(row) + " |" for row in group_rows(report)),
        "",
    ]
    for metric, worst in report["worst"].items():
        lines.append(
            f"- Worst group by {metric}: {worst['feature']} = {worst['group']} "
            f"({worst['value']:.3f})."
        )
    per_class = ", ".join(
        f"{name} {figures['coverage']:.2f}"
        for name, figures in report["per_class"].items()
    )
    lines += [f"- Set coverage by true class: {per_class}.", ""]
    return lines


def add_group_table(figure: Any, report: dict[str, Any], row: int) -> None:
    """The comparison report's group table (``group_rows``) in ``row``."""
    rows = group_rows(report)
    if not rows:
        return
    header = ["feature", "group", "n", *(label for _, label in _TABLE), "predicted"]
    figure.add_table(
        columnwidth=[0.8, 1.1, 0.7, *[1] * len(_TABLE), 2.8],
        header={"values": header},
        cells={"values": [list(column) for column in zip(*rows, strict=True)]},
        row=row,
        col=1,
    )
