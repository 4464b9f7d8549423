"""The architecture picture: the pipelines and the datasets they exchange, as an SVG.

A top-to-bottom layered drawing in plain SVG (no Graphviz, no JavaScript), built from
the registered pipelines and the catalog.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from project_facts import COMPOSITES, describe_dataset


@dataclass
class _Box:
    key: str
    label: str
    kind: str  # pipeline | dataset | service | waypoint
    sub: str = ""
    rank: int = 0
    x: float = 0.0  # centre
    y: float = 0.0  # top
    width: float = 0.0


_STYLE = {
    "pipeline": ("#ffe066", "#b38f00"),
    "dataset": ("#f1f3f5", "#868e96"),
    "service": ("#d0ebff", "#1c7ed6"),
}


def architecture_graph(
    pipelines: dict[str, Any], entries: dict[str, dict]
) -> tuple[dict[str, _Box], list[tuple[str, str, str]]]:
    """Boxes and edges: the pipelines, the datasets they exchange, the registry."""
    own = {
        name: p
        for name, p in sorted(pipelines.items())
        if name not in COMPOSITES and p.nodes
    }
    produced = {name: set(p.all_outputs()) for name, p in own.items()}
    boxes: dict[str, _Box] = {}
    for name, pipeline in own.items():
        tracked = any(
            "Mlflow" in describe_dataset(d, entries)["type"]
            for d in produced[name]
            if "." not in d
        )
        sub = f"{len(pipeline.nodes)} nodes" + (" · MLflow" if tracked else "")
        boxes[name] = _Box(name, name, "pipeline", sub)
    edges: list[tuple[str, str, str]] = []
    for name, pipeline in own.items():
        for dataset in sorted(pipeline.inputs()):
            if dataset.startswith("params:"):
                continue
            producers = [p for p in own if dataset in produced[p] and p != name]
            # a dataset made inside this very pipeline family is not a boundary
            if any(dataset in own[p].inputs() for p in producers):
                continue
            layer = describe_dataset(dataset, entries)["layer"]
            boxes.setdefault(dataset, _Box(dataset, dataset, "dataset", layer))
            edges.append((dataset, name, ""))
            edges += [(p, dataset, "") for p in producers]
    if "training" in pipelines and "modelling" in own:
        boxes["registry"] = _Box(
            "registry", "model registry", "service", "challenger / champion"
        )
        edges.append(("modelling", "registry", "training"))
    edges = list(dict.fromkeys(edges))
    _rank(boxes, edges)
    return boxes, edges


def _rank(boxes: dict[str, _Box], edges: list[tuple[str, str, str]]) -> None:
    for _ in range(len(boxes)):
        changed = False
        for src, dst, _label in edges:
            if boxes[dst].rank < boxes[src].rank + 1:
                boxes[dst].rank = boxes[src].rank + 1
                changed = True
        if not changed:
            return


def _layout(
    boxes: dict[str, _Box], edges: list[tuple[str, str, str]]
) -> tuple[dict[str, _Box], list[tuple[list[str], str]], float, float]:
    """Rows by rank; an edge spanning several ranks goes through waypoints that take
    a slot in each row it crosses (so it never runs behind a box)."""
    box_h, gap, row_h, margin = 46, 26, 96, 12
    nodes = dict(boxes)
    for box in nodes.values():
        box.width = max(150, 7.4 * len(box.label) + 28)
    routes: list[tuple[list[str], str]] = []
    for src, dst, label in edges:
        path = [src]
        for rank in range(nodes[src].rank + 1, nodes[dst].rank):
            key = f"~{src}>{dst}@{rank}"
            nodes[key] = _Box(key, "", "waypoint", rank=rank, width=14)
            path.append(key)
        routes.append(([*path, dst], label))
    parents: dict[str, list[str]] = {k: [] for k in nodes}
    for path, _label in routes:
        for a, b in zip(path, path[1:], strict=False):
            parents[b].append(a)
    rows: dict[int, list[_Box]] = {}
    for box in nodes.values():
        rows.setdefault(box.rank, []).append(box)
    widths = {
        r: sum(b.width for b in row) + gap * (len(row) - 1) for r, row in rows.items()
    }
    width = max(widths.values()) + 2 * margin
    for rank in sorted(rows):
        row = rows[rank]
        if rank:  # by the mean position of the parents: fewer crossings
            row.sort(
                key=lambda b: (
                    sum(nodes[p].x for p in parents[b.key]) / len(parents[b.key])
                )
            )
        left = (width - widths[rank]) / 2
        for box in row:
            box.x = left + box.width / 2
            box.y = margin + rank * row_h
            left += box.width + gap
    height = margin * 2 + (len(rows) - 1) * row_h + box_h
    return nodes, routes, width, height


def architecture_svg(boxes: dict[str, _Box], edges: list[tuple[str, str, str]]) -> str:
    """A top-to-bottom layered drawing; no Graphviz, no JavaScript."""
    box_h = 46
    nodes, routes, width, height = _layout(boxes, edges)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        'font-family="DejaVu Sans, Arial, sans-serif">',
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' "
        "markerWidth='7' markerHeight='7' orient='auto-start-reverse'>"
        "<path d='M0,0 L10,5 L0,10 z' fill='#495057'/></marker></defs>",
    ]
    for path, label in routes:
        points = []
        for i, key in enumerate(path):
            box = nodes[key]
            if box.kind == "waypoint":
                points += [(box.x, box.y), (box.x, box.y + box_h)]
            else:
                points.append((box.x, box.y + (box_h if i == 0 else 0)))
        d = f"M{points[0][0]:.0f},{points[0][1]:.0f}"
        for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False):
            if x1 == x2:
                d += f" L{x2:.0f},{y2:.0f}"
            else:
                mid = (y1 + y2) / 2
                d += f" C{x1:.0f},{mid:.0f} {x2:.0f},{mid:.0f} {x2:.0f},{y2:.0f}"
        out.append(
            f'<path d="{d}" fill="none" stroke="#495057" stroke-width="1.2" '
            'marker-end="url(#arrow)"/>'
        )
        if label:
            (x1, y1), (x2, y2) = points[-2], points[-1]
            out.append(
                f'<text x="{(x1 + x2) / 2 + 8:.0f}" y="{(y1 + y2) / 2 + 4:.0f}" '
                f'font-size="11" font-style="italic" fill="#495057">'
                f"{html.escape(label)}</text>"
            )
    for box in nodes.values():
        if box.kind == "waypoint":
            continue
        fill, stroke = _STYLE[box.kind]
        radius = 4 if box.kind == "pipeline" else 14
        weight = "bold" if box.kind != "dataset" else "normal"
        left = box.x - box.width / 2
        out.append(
            f'<rect x="{left:.0f}" y="{box.y:.0f}" width="{box.width:.0f}" '
            f'height="{box_h}" rx="{radius}" fill="{fill}" stroke="{stroke}" '
            'stroke-width="1.5"/>'
        )
        out.append(
            f'<text x="{box.x:.0f}" y="{box.y + 20:.0f}" font-size="13" '
            f'font-weight="{weight}" text-anchor="middle">{html.escape(box.label)}</text>'
        )
        if box.sub:
            out.append(
                f'<text x="{box.x:.0f}" y="{box.y + 37:.0f}" font-size="11" '
                f'fill="#495057" text-anchor="middle">{html.escape(box.sub)}</text>'
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"
