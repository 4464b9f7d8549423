"""The drift report as one self-contained HTML page (plotly.js inline, no CDN).

Pure: reports in, a string out (the catalog writes it). plotly is imported inside
``render_html`` so that importing the pipeline stays cheap.
"""

from __future__ import annotations

import html
from typing import Any

COLOURS = {"ok": "#2e7d32", "warning": "#ef6c00", "drift": "#c62828"}
STATUS_COLOURS = COLOURS | {"insufficient_data": "#616161"}
STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:.85rem;margin:1rem 0}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
.badge{display:inline-block;padding:.2rem .6rem;border-radius:.3rem;color:#fff}
"""


def _badge(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#616161")
    return (
        f'<span class="badge" style="background:{colour}">{html.escape(status)}</span>'
    )


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    return html.escape(str(value))


def _verdict(report: dict[str, Any], title: str) -> str:
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in report.get("reasons", []))
    return (
        f"<h2>{html.escape(title)} {_badge(report['status'])}</h2>"
        f"<p><b>Rows:</b> {report.get('rows', 0)} &nbsp; <b>Retrain recommended:</b> "
        f"{'yes' if report.get('retrain_recommended') else 'no'}</p>"
        f"<p><b>What to do:</b> {html.escape(report.get('action', ''))}</p>"
        + (f"<ul>{reasons}</ul>" if reasons else "")
    )


def _column_table(columns: list[dict[str, Any]]) -> str:
    head = (
        "<tr><th>column</th><th>kind</th><th>test</th><th>statistic</th><th>p</th>"
        "<th>adjusted p</th><th>PSI</th><th>JS</th><th>missing ref → cur</th>"
        "<th>unseen</th><th>level</th><th>reason</th></tr>"
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{_fmt(v)}</td>"
            for v in (
                c["column"],
                c["kind"],
                c["test"],
                c["statistic"],
                c["p_value"],
                c["p_adjusted"],
                c["psi"],
                c["js"],
                f"{c['missing']['reference']:.1%} → {c['missing']['current']:.1%}",
                c["unseen"]["count"],
            )
        )
        + f'<td style="color:{COLOURS[c["level"]]}">{c["level"]}</td>'
        + f"<td>{_fmt(c['reason'])}</td></tr>"
        for c in columns
    )
    return f"<table>{head}{rows}</table>"


def _psi_ranking(columns: list[dict[str, Any]], thresholds: dict[str, Any], title: str):
    import plotly.graph_objects as go  # noqa: PLC0415

    ranked = sorted(columns, key=lambda c: c["psi"] or 0.0)
    figure = go.Figure(
        go.Bar(
            x=[c["psi"] or 0.0 for c in ranked],
            y=[c["column"] for c in ranked],
            orientation="h",
            marker_color=[COLOURS[c["level"]] for c in ranked],
            hovertext=[c["reason"] or c["level"] for c in ranked],
        )
    )
    for name in ("psi_warning", "psi_drift"):
        figure.add_vline(x=thresholds[name], line_dash="dash", annotation_text=name)
    height = 120 + 24 * len(ranked)
    return figure.update_layout(title=title, xaxis_title="PSI", height=height)


def _distribution_grid(columns: list[dict[str, Any]]):
    import plotly.graph_objects as go  # noqa: PLC0415
    from plotly.subplots import make_subplots  # noqa: PLC0415

    n_cols = 3
    n_rows = -(-len(columns) // n_cols)
    figure = make_subplots(
        rows=n_rows, cols=n_cols, subplot_titles=[c["column"] for c in columns]
    )
    for i, column in enumerate(columns):
        row, col = i // n_cols + 1, i % n_cols + 1
        for side, colour in (("reference", "#90a4ae"), ("current", "#1565c0")):
            shares = column[f"{side}_share"]
            figure.add_trace(
                go.Bar(
                    x=list(shares),
                    y=list(shares.values()),
                    name=side,
                    marker_color=colour,
                    showlegend=i == 0,
                    legendgroup=side,
                ),
                row=row,
                col=col,
            )
    title = "Share of each value: reference vs current batch"
    return figure.update_layout(title=title, height=280 * n_rows, barmode="group")


def _detection_chart(detection: list[dict[str, Any]]):
    import plotly.graph_objects as go  # noqa: PLC0415

    figure = go.Figure()
    for kind in dict.fromkeys(row["kind"] for row in detection):
        rows = [r for r in detection if r["kind"] == kind]
        for measure, dash in (("detected", "solid"), ("drift", "dot")):
            figure.add_trace(
                go.Scatter(
                    x=[r["intensity"] for r in rows],
                    y=[r[measure] for r in rows],
                    name=f"{kind}: {measure}",
                    line_dash=dash,
                    mode="lines+markers",
                )
            )
    return figure.update_layout(
        title="Simulations: share of batches detected (warning or drift) and in drift",
        xaxis_title="intensity",
        yaxis_title="share of runs",
        yaxis_range=[0, 1.05],
    )


def _detection_table(detection: list[dict[str, Any]]) -> str:
    keys = [
        "kind",
        "intensity",
        "runs",
        "ok",
        "warning",
        "drift",
        "detected",
        "retrain",
        "mean_max_psi",
    ]
    head = "".join(f"<th>{k}</th>" for k in keys)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(row[k])}</td>" for k in keys) + "</tr>"
        for row in detection
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _reading(reading: dict[str, Any]) -> str:
    """How a real batch was read: engine, pieces, records left out, model rows."""
    malformed = reading["malformed_records"]
    sample = "a sample of " if reading["model_rows_sampled"] else ""
    return (
        f"<p><b>Read:</b> {_fmt(reading['engine'])} engine, {reading['workers']} "
        f"worker(s), {reading['pieces']} piece(s)"
        + (f", {malformed} malformed record(s) left out" if malformed else "")
        + f"; the model part predicts {sample}{reading['model_rows']} rows</p>"
    )


def _batch_section(report: dict[str, Any], title: str) -> tuple[str, list[Any]]:
    """Text and figures for one report (a real batch or a simulated one)."""
    parts, figures = [_verdict(report, title)], []
    if report.get("reading"):
        parts.append(_reading(report["reading"]))
    if report.get("columns"):
        parts.append(_column_table(report["columns"]))
        figures.append(_psi_ranking(report["columns"], report["thresholds"], title))
        figures.append(_distribution_grid(report["columns"]))
    return "".join(parts), figures


def _page(title: str, sections: list[tuple[str, list[Any]]]) -> str:
    """A complete HTML document; plotly.js is inlined once, before the first figure."""
    body, first = [], True
    for text, figures in sections:
        body.append(text)
        for figure in figures:
            body.append(figure.to_html(full_html=False, include_plotlyjs=first))
            first = False
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>" + "".join(body) + "</body></html>"
    )


def render_html(report: dict[str, Any]) -> str:
    """The drift report of a batch: verdict, column table, PSI ranking, distributions.

    Args:
        report: The batch report (``rpt_drift_report``).

    Returns:
        A complete HTML document.
    """
    title = f"Drift report: {report.get('dataset', '')}"
    return _page(title, [_batch_section(report, "Current batch")])


def render_simulation_html(simulations: dict[str, Any]) -> str:
    """The simulations: detection by kind and intensity, then one report per kind.

    Args:
        simulations: ``dataset``, ``detection`` rows and ``showcase`` reports per kind
            (``rpt_drift_simulations``).

    Returns:
        A complete HTML document.
    """
    text = (
        "<h2>Simulations</h2><p>Seeded batches drawn from the reference, drifted on "
        "purpose; intensity 0 is the false-alarm rate.</p>"
        + _detection_table(simulations["detection"])
    )
    sections = [(text, [_detection_chart(simulations["detection"])])]
    for kind, shown in simulations["showcase"].items():
        title = f"Simulated {kind} (intensity {shown['simulation']['intensity']})"
        sections.append(_batch_section(shown, title))
    return _page(f"Drift simulations: {simulations.get('dataset', '')}", sections)
