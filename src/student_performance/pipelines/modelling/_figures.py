"""The modelling pipeline's figures: confusion matrix, permutation importance (matplotlib,
saved as PNG) and the model-comparison report (plotly, self-contained HTML).

matplotlib and plotly are imported inside the functions: ``kedro`` imports every
pipeline's nodes on every command. Figures are built without pyplot.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from student_performance.core.selection import pooled_reliability

from ._fairness import add_group_table


def confusion_figure(truth: np.ndarray, predicted: np.ndarray, classes: list[str]):
    """The selected model's confusion matrix on the holdout (matplotlib, no pyplot)."""
    from matplotlib.figure import Figure  # noqa: PLC0415 - keep matplotlib out of start-up
    from sklearn.metrics import ConfusionMatrixDisplay  # noqa: PLC0415

    figure = Figure(figsize=(5.5, 4.5), layout="constrained")
    ax = figure.add_subplot()
    ConfusionMatrixDisplay.from_predictions(
        truth,
        predicted,
        labels=range(len(classes)),
        display_labels=classes,
        ax=ax,
        cmap="Blues",
        colorbar=False,
    )
    ax.set_title("Selected model on the holdout")
    return figure


def importance_figure(table: pd.DataFrame, scoring: str):
    """Permutation importance of each feature as horizontal bars with std errors."""
    from matplotlib.figure import Figure  # noqa: PLC0415

    ordered = table.iloc[::-1]
    figure = Figure(figsize=(7, 0.35 * len(table) + 1.2), layout="constrained")
    ax = figure.add_subplot()
    ax.barh(
        ordered["feature"],
        ordered["permutation_importance_mean"],
        xerr=ordered["permutation_importance_std"],
        color="#4C78A8",
    )
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel(f"drop in {scoring} when the feature is shuffled (holdout)")
    ax.set_title("Permutation importance of the selected model")
    return figure


_HEADLINE = ("accuracy", "balanced_accuracy", "f1_macro", "quadratic_weighted_kappa")
_TABLE_METRICS = (*_HEADLINE, "log_loss", "brier", "ece")


def build_comparison_report(
    rpt_cv_summary: pd.DataFrame,
    rpt_selected_model_metrics: dict[str, Any],
    model_cv_folds: pd.DataFrame,
    rpt_group_report: dict[str, Any] | None = None,
):
    """A self-contained plotly figure comparing every candidate with the baseline.

    Args:
        rpt_cv_summary: One row per candidate (mean and std of every metric).
        rpt_selected_model_metrics: Output of ``report_selected_model``.
        model_cv_folds: Output of ``evaluate_candidates`` (its reliability sums feed
            the reliability diagram).
        rpt_group_report: The selected model's figures by sensitive group
            (``report_groups``): a table of its own; ``None``: no table.

    Returns:
        A plotly ``Figure``: CV means with std error bars for the headline metrics,
        the selected model's holdout score as a bar of its own, a table of the
        figures (mean ± std, log loss, Brier and ECE included) with each candidate's
        parameters, a top-label reliability diagram per candidate and the group
        table.
    """
    from plotly.subplots import make_subplots  # noqa: PLC0415

    selected = rpt_selected_model_metrics["model"]
    figure = make_subplots(
        rows=4,
        cols=1,
        specs=[[{"type": "xy"}], [{"type": "table"}], [{"type": "xy"}]]
        + [[{"type": "table"}]],
        row_heights=[0.22, 0.24, 0.20, 0.34],
        vertical_spacing=0.05,
        subplot_titles=(
            "Repeated CV on the development part (mean ± std over the folds)",
            "Every candidate, best configuration (repeated CV, mean ± std)",
            "Reliability: accuracy of the most probable class against its "
            "probability (10 bins, pooled over the CV folds; the diagonal is perfect)",
            f"{selected} by sensitive group (out of fold; largest gap with its "
            "bootstrap 95 % interval)",
        ),
    )
    if rpt_group_report:
        add_group_table(figure, rpt_group_report, row=4)
    _add_reliability(
        figure, pooled_reliability(model_cv_folds, rpt_cv_summary), selected
    )
    _add_metric_bars(figure, rpt_cv_summary, rpt_selected_model_metrics)
    _add_candidates_table(figure, rpt_cv_summary)
    figure.update_layout(
        title=f"Model comparison: selected {selected} by "
        f"{rpt_selected_model_metrics['primary_metric']} (the baseline predicts class priors)",
        barmode="group",
        height=2500,
        template="plotly_white",
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
    )
    return figure


def _add_metric_bars(
    figure: Any, summary: pd.DataFrame, selected_metrics: dict[str, Any]
) -> None:
    """Row 1: each candidate's CV means (std error bars), then the holdout score."""
    selected = selected_metrics["model"]
    for _, row in summary.iterrows():
        figure.add_bar(
            name=row["candidate"]
            + (" (selected)" if row["candidate"] == selected else ""),
            x=list(_HEADLINE),
            y=[row[f"{m}_mean"] for m in _HEADLINE],
            error_y={"type": "data", "array": [row[f"{m}_std"] for m in _HEADLINE]},
            marker_color="#9e9e9e" if row["candidate"] == "baseline" else None,
            row=1,
            col=1,
        )
    holdout = selected_metrics["holdout"]
    figure.add_bar(
        name=f"{selected} on the holdout (scored once)",
        x=list(_HEADLINE),
        y=[holdout[m] for m in _HEADLINE],
        marker={"color": "#222222", "pattern": {"shape": "/"}},
        row=1,
        col=1,
    )


def _add_candidates_table(figure: Any, summary: pd.DataFrame) -> None:
    """Row 2: mean ± std of every metric and the parameters, per candidate."""
    cells = [
        summary["candidate"],
        summary["params"]
        .str.replace(r'[{}"]', "", regex=True)
        .str.replace(", ", "<br>"),
        *[
            [
                f"{r[f'{m}_mean']:.3f} ± {r[f'{m}_std']:.3f}"
                for _, r in summary.iterrows()
            ]
            for m in _TABLE_METRICS
        ],
    ]
    figure.add_table(
        columnwidth=[1.1, 1.6, *[1] * len(_TABLE_METRICS)],
        header={
            "values": [
                "candidate",
                "parameters",
                *[m.replace("_", " ") for m in _TABLE_METRICS],
            ]
        },
        cells={
            "values": cells,
            "align": ["left", "left", *["right"] * len(_TABLE_METRICS)],
        },
        row=2,
        col=1,
    )


def _add_reliability(
    figure: Any, reliability: dict[str, dict[str, list[float]]], selected: str
) -> None:
    figure.add_scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        line={"color": "#9e9e9e", "dash": "dot"},
        name="perfectly calibrated",
        row=3,
        col=1,
    )
    for candidate, bins in reliability.items():
        keep = [i for i, n in enumerate(bins["rows"]) if n > 0]
        figure.add_scatter(
            x=[bins["confidence"][i] for i in keep],
            y=[bins["accuracy"][i] for i in keep],
            mode="lines+markers",
            name=f"{candidate} (reliability)",
            line={"width": 3 if candidate == selected else 1.5},
            text=[f"{int(bins['rows'][i])} rows" for i in keep],
            row=3,
            col=1,
        )
    figure.update_xaxes(title_text="probability of the most probable class", row=3)
    figure.update_yaxes(title_text="share correct", range=[0, 1], row=3)
