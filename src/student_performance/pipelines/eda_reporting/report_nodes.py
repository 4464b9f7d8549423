"""Nodes of the eda_reporting pipeline that draw: the PNG figures and the HTML report.

Figures are returned as ``matplotlib.figure.Figure`` objects (saved as PNG) and the
report as one HTML string with plotly.js embedded, so it opens offline. The drawing is
in private modules beside it: ``_figures`` (matplotlib figures, the colours both
renderers share), ``_plotly`` (the report's plotly figures) and ``_html`` (the report's
HTML). matplotlib and plotly are imported inside the functions that draw: ``kedro``
imports every pipeline's nodes on every command, and these imports cost about a second
together.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import pandas as pd

from student_performance.schema import DatasetSchema

from ._figures import features_grid, heatmap, ranking_bars, target_bars
from ._html import page, report_sections
from ._plotly import report_figures
from ._stats import ranked_features, require_columns

logger = logging.getLogger(__name__)


class Figure(Protocol):
    """What ``matplotlib.MatplotlibDataset`` needs of a ``matplotlib.figure.Figure``.

    A protocol rather than the class itself so that importing this module (which
    ``kedro`` does on every command) does not import matplotlib.
    """

    def savefig(self, fname: Any, **kwargs: Any) -> None: ...


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
    figure = target_bars(table, dataset)
    logger.info("Plotted the target distribution (%d classes)", len(table))
    return figure


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
    require_columns(prm_students, dataset.columns, "prm_students")
    features = ranked_features(rpt_eda_association_ranking, dataset)
    figure = features_grid(prm_students, features, dataset)
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
    figure = ranking_bars(ranking)
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
    figure = heatmap(matrix)
    logger.info("Plotted the association heat map (%d x %d)", len(matrix), len(matrix))
    return figure


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
    require_columns(prm_students, dataset.columns, "prm_students")
    features = ranked_features(rpt_eda_association_ranking, dataset)
    figures = report_figures(
        rpt_eda_target_distribution,
        rpt_eda_association_ranking,
        rpt_eda_association_matrix,
        prm_students,
        features,
        dataset,
    )
    sections = report_sections(
        rpt_eda_dataset_overview,
        rpt_eda_column_overview,
        rpt_eda_association_ranking,
        rpt_eda_findings,
        figures,
        dataset,
    )
    report = page(dataset.name, sections)
    logger.info(
        "HTML report: %d figures, %.0f KB",
        len(features) + 3,
        len(report.encode()) / 1024,
    )
    return report
