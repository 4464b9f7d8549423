"""The report's plotly figures, each as a ``<div>`` for the HTML page.

Figure ids are fixed (the same data gives the same bytes); plotly.js itself is embedded
once by ``_html.page``. plotly is imported inside the functions: ``kedro`` imports every
pipeline's nodes on every command.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import pandas as pd

from ._figures import RANKING_PANELS, class_colours, count_labels
from ._stats import counts_by_class, numeric_values, shares_with_reference, target

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from student_performance.schema import DatasetSchema, FeatureSpec


def _layout(fig: go.Figure, title: str, subtitle: str, height: int) -> None:
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "subtitle": {"text": subtitle}, "x": 0.01},
        height=height,
        margin={"l": 10, "r": 20, "t": 80, "b": 50},
        showlegend=False,
        font={"size": 13},
    )


def _target_figure(table: pd.DataFrame, dataset: DatasetSchema) -> go.Figure:
    import plotly.graph_objects as go  # noqa: PLC0415

    classes = table["class"].astype(str).tolist()
    fig = go.Figure(
        go.Bar(
            x=classes,
            y=table["count"],
            marker_color=class_colours(len(classes), dataset.target.ordinal),
            text=count_labels(table),
            textposition="outside",
            hovertemplate="%{x}: %{y} rows<extra></extra>",
        )
    )
    _layout(
        fig,
        f"{dataset.target.name}: rows per class",
        f"{table['count'].sum()} rows after cleaning; classes in order, lowest first",
        420,
    )
    fig.update_xaxes(title=dataset.target.name, type="category")
    fig.update_yaxes(title="rows", range=[0, table["count"].max() * 1.18])
    return fig


def _categorical_figure(
    frame: pd.DataFrame, spec: FeatureSpec, dataset: DatasetSchema
) -> go.Figure:
    import plotly.graph_objects as go  # noqa: PLC0415

    shares = shares_with_reference(counts_by_class(frame, spec, dataset, bins=0))
    labels = [f"{value} (n={n})" for value, n in zip(shares.index, shares["n"])]
    classes = list(dataset.target.classes)
    colours = class_colours(len(classes), dataset.target.ordinal)
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


def _numeric_figure(
    frame: pd.DataFrame, spec: FeatureSpec, dataset: DatasetSchema
) -> go.Figure:
    import plotly.graph_objects as go  # noqa: PLC0415

    classes = target(frame, dataset)
    values = numeric_values(frame[spec.name])
    colours = class_colours(len(dataset.target.classes), dataset.target.ordinal)
    fig = go.Figure(
        [
            go.Box(
                x=values[classes == cls].dropna(),
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


def _feature_figure(
    frame: pd.DataFrame, spec: FeatureSpec, row: pd.Series, dataset: DatasetSchema
) -> go.Figure:
    if spec.is_categorical:
        fig, n_bars = _categorical_figure(frame, spec, dataset), len(spec.values) + 1
    else:
        fig = _numeric_figure(frame, spec, dataset)
        n_bars = 2 * len(dataset.target.classes)  # a box and its points per class
    ranks = f" · Spearman ρ {row['spearman']:.2f}" if pd.notna(row["spearman"]) else ""
    _layout(
        fig,
        f"#{row['rank']} {spec.name} ({spec.kind.value})",
        f"Cramér's V {row['cramers_v']:.2f} · MI {row['mutual_info']:.3f} nats"
        f"{ranks} · n = {row['n']}",
        150 + 30 * n_bars,
    )
    return fig


def _ranking_figure(ranking: pd.DataFrame) -> go.Figure:
    import plotly.graph_objects as go  # noqa: PLC0415
    from plotly.subplots import make_subplots  # noqa: PLC0415

    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.05,
        subplot_titles=tuple(title for _, title, _ in RANKING_PANELS),
    )
    features = ranking["feature"].astype(str).tolist()
    for col, (measure, _, colour) in enumerate(RANKING_PANELS, start=1):
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
    _layout(
        fig,
        "Association of each feature with the target",
        "features ranked, strongest first",
        200 + 30 * len(features),
    )
    fig.update_layout(margin={"t": 110})
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(rangemode="tozero")
    return fig


def _heatmap_figure(matrix: pd.DataFrame) -> go.Figure:
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
    _layout(
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


def report_figures(
    distribution: pd.DataFrame,
    ranking: pd.DataFrame,
    matrix: pd.DataFrame,
    frame: pd.DataFrame,
    features: list[tuple[FeatureSpec, pd.Series]],
    dataset: DatasetSchema,
) -> dict[str, str]:
    """The report's figures as ``<div>``s: ``target``, ``features`` (one ``<div
    class="figure">`` each, in the order of ``features``), ``ranking``, ``heatmap``."""
    return {
        "target": _figure_div(_target_figure(distribution, dataset), "fig-target"),
        "features": "".join(
            '<div class="figure">'
            + _figure_div(_feature_figure(frame, spec, row, dataset), f"fig-{i}")
            + "</div>"
            for i, (spec, row) in enumerate(features, start=1)
        ),
        "ranking": _figure_div(_ranking_figure(ranking), "fig-rank"),
        "heatmap": _figure_div(_heatmap_figure(matrix.set_index("column")), "fig-heat"),
    }
