"""The static figures (matplotlib, saved as PNG), and the colours and labels that the
report's plotly figures share with them.

matplotlib and plotly are imported inside the functions: ``kedro`` imports every
pipeline's nodes on every command. Figures are built without pyplot.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._stats import counts_by_class, numeric_values, pct, shares_with_reference, target

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from student_performance.schema import DatasetSchema, FeatureSpec

# the two panels of the ranking figures: measure, title, colour
RANKING_PANELS = (
    ("cramers_v", "Cramér's V (bias-corrected)", "#35608d"),
    ("mutual_info", "mutual information (nats)", "#2a9d8f"),
)


def class_colours(n: int, ordinal: bool) -> list[str]:
    """Hex colours per class: a sequential scale for ordered classes."""
    from plotly import colors  # noqa: PLC0415

    if not ordinal:
        return [colors.qualitative.D3[i % 10] for i in range(n)]
    samples = colors.sample_colorscale(colors.sequential.Viridis, n, high=0.85)
    return [
        "#{:02x}{:02x}{:02x}".format(*(round(c) for c in colors.unlabel_rgb(s)))
        for s in samples
    ]


def count_labels(distribution: pd.DataFrame) -> list[str]:
    """``"count (share %)"`` per row of a target distribution."""
    return [
        f"{c} ({pct(s)})" for c, s in zip(distribution["count"], distribution["share"])
    ]


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure  # noqa: PLC0415

    return Figure(figsize=(width, height), layout="constrained")


def target_bars(table: pd.DataFrame, dataset: DatasetSchema) -> Figure:
    """Rows per class of ``summarise_target``'s table, in class order."""
    figure = _new_figure(6.5, 4)
    ax = figure.add_subplot()
    labels = table["class"].astype(str).tolist()
    colours = class_colours(len(table), dataset.target.ordinal)
    bars = ax.bar(labels, table["count"], color=colours)
    ax.bar_label(bars, labels=count_labels(table))
    ax.set_title(f"{dataset.target.name}: rows per class ({table['count'].sum()} rows)")
    ax.set_xlabel(f"{dataset.target.name} (class order, lowest first)")
    ax.set_ylabel("rows")
    ax.margins(y=0.12)
    ax.spines[["top", "right"]].set_visible(False)
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
    ax: Axes, values: pd.Series, classes: pd.Series, colours: list[str]
) -> None:
    names = list(classes.cat.categories)
    groups = [values[classes == cls].dropna().to_numpy(float) for cls in names]
    boxes = ax.boxplot(
        groups, tick_labels=names, patch_artist=True, orientation="horizontal"
    )
    for patch, colour in zip(boxes["boxes"], colours):
        patch.set(facecolor=colour, alpha=0.7)
    ax.invert_yaxis()


def features_grid(
    frame: pd.DataFrame,
    features: list[tuple[FeatureSpec, pd.Series]],
    dataset: DatasetSchema,
) -> Figure:
    """One panel per feature against the target, in the order of ``features``."""
    from matplotlib.patches import Patch  # noqa: PLC0415

    classes = list(dataset.target.classes)
    colours = class_colours(len(classes), dataset.target.ordinal)
    ncols = min(3, len(features))
    nrows = math.ceil(len(features) / ncols)
    figure = _new_figure(5.2 * ncols, 3.1 * nrows + 0.6)
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (spec, row) in zip(axes, features):
        if spec.is_categorical:
            counts = counts_by_class(frame, spec, dataset, bins=0)
            _draw_stacked_shares(ax, shares_with_reference(counts), classes, colours)
        else:
            values = numeric_values(frame[spec.name])
            _draw_numeric_by_class(ax, values, target(frame, dataset), colours)
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
    return figure


def ranking_bars(ranking: pd.DataFrame) -> Figure:
    """Cramér's V and mutual information per feature, two panels, ranking order."""
    figure = _new_figure(10, 0.38 * len(ranking) + 1.6)
    axes = figure.subplots(1, 2, sharey=True)
    labels = ranking["feature"].astype(str).tolist()
    for ax, (measure, title, colour) in zip(axes, RANKING_PANELS):
        bars = ax.barh(labels, ranking[measure].fillna(0), color=colour)
        ax.bar_label(bars, fmt="%.3f", padding=2, fontsize=8)
        ax.set_title(title)
        ax.margins(x=0.18)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].invert_yaxis()
    figure.suptitle("Association of each feature with the target (strongest first)")
    return figure


def heatmap(matrix: pd.DataFrame) -> Figure:
    """Cramér's V of a square matrix indexed by column name, values annotated."""
    n = len(matrix)
    values = matrix.to_numpy(float)
    figure = _new_figure(0.62 * n + 3, 0.55 * n + 2.2)
    ax = figure.add_subplot()
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1)
    labels = matrix.index.astype(str).tolist()
    ax.set_xticks(range(n), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            colour = "white" if value > 0.6 else "black"  # noqa: PLR2004
            ax.text(
                j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color=colour
            )
    figure.colorbar(image, ax=ax, label="Cramér's V (bias-corrected)", shrink=0.8)
    ax.set_title("Association between every pair of columns")
    return figure
