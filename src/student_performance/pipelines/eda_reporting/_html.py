"""The interactive report's HTML: its tables, sections and the page around them.

One self-contained page: plotly.js embedded once in ``<head>``, every name from the
data escaped. The figures come ready as ``<div>``s from ``_plotly``. plotly is imported
inside ``page``: ``kedro`` imports every pipeline's nodes on every command.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._figures import class_colours
from ._stats import pct

if TYPE_CHECKING:
    from student_performance.schema import DatasetSchema


def _table(
    headers: list[str],
    rows: list[list[Any]],
    align: str,
    groups: list[tuple[str, int]] = (),
) -> str:
    """A table: ``align`` is ``l`` or ``r`` per column; ``groups`` adds a header row
    of ``(label, columns spanned)``."""
    esc, cls = html.escape, {"l": "", "r": ' class="num"'}
    group_cells = "".join(
        f'<th colspan="{span}" class="group">{esc(label)}</th>'
        for label, span in groups
    )
    group_row = f"<tr>{group_cells}</tr>" if groups else ""
    head = "".join(f"<th{cls[a]}>{esc(h)}</th>" for h, a in zip(headers, align))
    body = "".join(
        "<tr>"
        + "".join(f"<td{cls[a]}>{esc(str(v))}</td>" for v, a in zip(row, align))
        + "</tr>"
        for row in rows
    )
    return (
        f'<div class="scroll"><table class="table"><thead>{group_row}<tr>{head}</tr>'
        f"</thead><tbody>{body}</tbody></table></div>"
    )


def _count_share(count: int, share: float) -> str:
    return f"{count} ({pct(share)})" if count else "0"


def _columns_table(columns: pd.DataFrame) -> str:
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
    return _table(headers, rows, "lllrrlrrrr", groups)


def _overview(overview: dict[str, Any], columns: pd.DataFrame) -> str:
    raw, clean = overview["raw"], overview["clean"]
    shape = [["rows", raw["rows"], clean["rows"]]]
    shape += [["columns", raw["columns"], clean["columns"]]]
    reasons = [[r, n] for r, n in overview["quarantined_by_reason"].items()]
    dropped = ", ".join(map(str, overview["columns_dropped"])) or "none"
    return (
        '<div class="row"><div><h3>Shape</h3>'
        + _table(["", "raw file", "after cleaning"], shape, "lrr")
        + f"</div><div><h3>Rows set aside: {overview['rows_quarantined']}</h3>"
        + _table(["reason", "rows"], reasons or [["none", 0]], "lr")
        + "</div></div>"
        f"<p>Columns dropped: {html.escape(dropped)}. <i>Missing</i> counts empty "
        "cells and missing tokens; <i>distinct spellings</i> counts raw texts (missing "
        "tokens aside), so case and spacing variants count apart; <i>respelled</i>: "
        "values whose raw text differs from the canonical spelling; <i>set to NA</i>: "
        "values outside the allowed set (from data_processing's quality report).</p>"
        "<h3>Columns</h3>" + _columns_table(columns)
    )


def _fmt(value: float, spec: str = ".3f") -> str:
    return "" if pd.isna(value) else format(value, spec)


def _fmt_p(value: float) -> str:
    return "" if pd.isna(value) else "< 0.001" if value < 0.001 else f"{value:.3f}"  # noqa: PLR2004


def _ranking_table(ranking: pd.DataFrame) -> str:
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
    return _table([*headers, "Spearman ρ", "Kendall τ-b"], rows, "rllrrrrrr")


def _legend(dataset: DatasetSchema) -> str:
    spec = dataset.target
    colours = class_colours(len(spec.classes), spec.ordinal)
    swatches = "".join(
        f'<span class="swatch" style="background:{c}"></span>{html.escape(cls)}'
        for cls, c in zip(spec.classes, colours)
    )
    order = " (lowest to highest)" if spec.ordinal else ""
    return f'<p class="legend"><b>{html.escape(spec.name)}</b>{order}: {swatches}</p>'


def report_sections(
    overview: dict[str, Any],
    columns: pd.DataFrame,
    ranking: pd.DataFrame,
    findings: dict[str, Any],
    figures: dict[str, str],
    dataset: DatasetSchema,
) -> str:
    """The body of the report: title, navigation and its five sections."""
    spec, esc = dataset.target, html.escape
    classes = (" < " if spec.ordinal else ", ").join(spec.classes)
    items = "".join(
        f'<li><span class="topic">{esc(f["topic"].replace("_", " "))}</span>'
        f"{esc(f['text'])}</li>"
        for f in findings["findings"]
    )
    return (
        f"<h1>Exploratory analysis: {esc(dataset.name)}</h1>"
        f'<p class="lead">{overview["clean"]["rows"]} rows after cleaning '
        f"({overview['raw']['rows']} in the raw file); target <b>{esc(spec.name)}"
        f"</b> ({esc(classes)}); {len(dataset.features)} features.</p>"
        '<nav><a href="#findings">Findings</a><a href="#overview">Overview</a>'
        '<a href="#target">Target</a><a href="#features">Features vs target</a>'
        '<a href="#association">Association</a></nav>'
        f'<section id="findings"><h2>Findings</h2><ul class="findings">{items}</ul>'
        "</section>"
        '<section id="overview"><h2>Overview: the raw file and after cleaning</h2>'
        f"{_overview(overview, columns)}</section>"
        f'<section id="target"><h2>Target</h2>{figures["target"]}</section>'
        '<section id="features"><h2>Each feature against the target</h2>'
        '<p class="note">Features by bias-corrected Cramér\'s V with the target, '
        "strongest first. Categorical features: the share of each target class among "
        "the rows holding each value, values in schema order, all rows on top for "
        "reference. Numeric features: the distribution per class.</p>"
        f'{_legend(dataset)}<div class="grid">{figures["features"]}</div>'
        "</section>"
        '<section id="association"><h2>Association with the target</h2>'
        f'<p class="note"><b>Measures shown.</b> {esc(findings["measure"])}</p>'
        f"{figures['ranking']}{_ranking_table(ranking)}"
        "<h3>Feature by feature</h3>"
        '<p class="note">The heat map shows bias-corrected Cramér\'s V for every pair '
        "of columns, the target included.</p>"
        f"{figures['heatmap']}</section>"
    )


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


def page(title: str, body: str) -> str:
    """The whole document: ``body`` under the style sheet and plotly.js."""
    from plotly.offline import get_plotlyjs  # noqa: PLC0415

    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>EDA: {html.escape(title)}</title><style>{_CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head>'
        f"<body><main>{body}</main></body></html>\n"
    )
