"""Pages generated from the project itself, written before Sphinx reads the sources.

Nothing here is copied by hand, so the site cannot drift from the code:

- ``generated/architecture.svg``: the registered pipelines and the datasets that flow
  between them (from ``pipeline_registry.py`` and the catalog), drawn as a plain SVG;
- ``generated/pipelines/<name>.md``: each pipeline's README (or its module docstring)
  plus its contract: boundary inputs and outputs with type, layer and file, and the
  parameters it reads;
- ``generated/parameters.md``: every parameter of ``conf/*/parameters*.yml`` with its
  value in base, test and prod, and the dataset schema's features;
- ``generated/catalog.md``: every catalog entry of ``conf/base``;
- ``generated/make_targets.md``: the Makefile's targets and their ``##`` help;
- ``generated/environments.md``: every ``conf/<env>/README.md``.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SOURCE = Path(__file__).resolve().parents[1]
PROJECT = SOURCE.parents[1]
OUT = SOURCE / "generated"
PACKAGE = "student_performance"
ENVS = ("base", "test", "prod")  # committed environments shown side by side
# Not pipelines of their own: __default__ (pipeline_registry.py) and training
# (pipelines/training/pipeline.py: data_processing + modelling as one MLflow model).
COMPOSITES = {"__default__", "training"}


# --- project facts ---------------------------------------------------------------
def registered_pipelines() -> dict[str, Any]:
    """The project's registered pipelines, as ``kedro run --pipelines`` sees them."""
    from kedro.framework.project import pipelines  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    bootstrap_project(PROJECT)
    return dict(pipelines)


def catalog_entries() -> dict[str, dict]:
    """``conf/base/catalog*.yml`` entries (YAML anchors ``_*`` left out)."""
    entries: dict[str, dict] = {}
    for path in sorted((PROJECT / "conf/base").glob("catalog*.yml")):
        for name, entry in (yaml.safe_load(path.read_text()) or {}).items():
            if not name.startswith("_"):
                entries[name] = {**entry, "_file": path.name}
    return entries


def _factory_match(name: str, entries: dict[str, dict]) -> dict | None:
    if name in entries:
        return entries[name]
    for pattern, entry in entries.items():
        if "{" in pattern:
            regex = re.sub(r"\\\{[^}]+\\\}", ".+", re.escape(pattern))
            if re.fullmatch(regex, name):
                return entry
    return None


def describe_dataset(name: str, entries: dict[str, dict]) -> dict[str, str]:
    """Type, layer and file of a dataset from its catalog entry (or its factory)."""
    entry = _factory_match(name, entries)
    if entry is None:
        return {"type": "MemoryDataset (not in the catalog)", "layer": "", "file": ""}
    inner = entry.get("dataset") if isinstance(entry.get("dataset"), dict) else {}
    kind = entry.get("type", "")
    if kind.startswith("kedro_mlflow."):
        kind = kind.rsplit(".", 1)[-1]
    if inner:
        kind = f"{kind.rsplit('.', 1)[-1]}({inner.get('type', '')})"
    layer = ((entry.get("metadata") or {}).get("kedro-viz") or {}).get("layer", "")
    path = entry.get("filepath") or entry.get("path") or inner.get("filepath") or ""
    return {"type": kind, "layer": layer, "file": str(path)}


def env_parameters() -> dict[str, dict[str, Any]]:
    """Flattened parameters per committed environment, values as written in YAML."""
    result: dict[str, dict[str, Any]] = {}
    for env in ENVS:
        flat: dict[str, Any] = {}
        for path in sorted((PROJECT / "conf" / env).glob("parameters*.yml")):
            flat.update(_flatten(yaml.safe_load(path.read_text()) or {}))
        result[env] = flat
    return result


def _flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


# --- markdown helpers ----------------------------------------------------------------
def _cell(value: Any) -> str:
    if value is None:
        text = "null"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False)
    return f"`{text}`".replace("|", "\\|") if text != "" else '`""`'


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# --- pages ---------------------------------------------------------------------------
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _rewrite_links(text: str, base: Path) -> str:
    """A README's relative links, made valid on the site: a link to another
    pipeline's README goes to that pipeline's page, a link to any other project file
    becomes its path (the site does not carry the files)."""

    def replace(match: re.Match) -> str:
        label, target = match.group(1), match.group(2)
        if re.match(r"^[a-z]+:|^#", target):
            return match.group(0)
        path = (base / target.split("#")[0]).resolve()
        pipelines_dir = PROJECT / "src" / PACKAGE / "pipelines"
        if path.name == "README.md" and path.parent.parent == pipelines_dir:
            return f"[{label}]({path.parent.name}.md)"
        try:
            shown = path.relative_to(PROJECT).as_posix()
        except ValueError:
            shown = target
        return label if label.strip("`") == shown else f"{label} (`{shown}`)"

    return _LINK.sub(replace, text)


def pipeline_page(name: str, pipeline: Any, entries: dict[str, dict]) -> str:
    """The pipeline's own README (or module docstring) and its generated contract."""
    readme = PROJECT / "src" / PACKAGE / "pipelines" / name / "README.md"
    if readme.exists():
        text = _rewrite_links(readme.read_text(), readme.parent)
        text += f"\n*From `{readme.relative_to(PROJECT).as_posix()}`.*\n"
    else:
        text = (
            f"# {name}\n\n"
            "```{eval-rst}\n"
            f".. automodule:: {PACKAGE}.pipelines.{name}.pipeline\n"
            "   :no-index:\n```\n"
        )

    def boundary(names: set[str]) -> list[str]:
        return sorted(n for n in names if "." not in n and not n.startswith("params:"))

    rows = []
    for direction, names in (
        ("in", boundary(pipeline.inputs())),
        ("out", boundary(pipeline.all_outputs())),
    ):
        for dataset in names:
            info = describe_dataset(dataset, entries)
            rows.append(
                [
                    direction,
                    f"`{dataset}`",
                    f"`{info['type']}`",
                    info["layer"],
                    f"`{info['file']}`" if info["file"] else "",
                ]
            )
    params = sorted(
        p.removeprefix("params:") for p in pipeline.inputs() if p.startswith("params:")
    )
    nodes = ", ".join(f"`{n.name.rsplit('.', 1)[-1]}`" for n in pipeline.nodes)
    text += (
        "\n## Contract (generated from the code)\n\n"
        f"`kedro run --pipelines {name}`. Nodes, in run order: {nodes}.\n\n"
        + _table(["", "dataset", "type", "layer", "file"], rows)
        + "\nParameters read: "
        + ", ".join(f"`{p}`" for p in params)
        + " (values: [parameter reference](../parameters.md)).\n"
    )
    return text


def parameters_page() -> str:
    """Every parameter with its base / test / prod value, one table per group."""
    values = env_parameters()
    keys = sorted(set().union(*values.values()) - {"dataset.features"})
    groups: dict[str, list[list[str]]] = {}
    for key in keys:
        group, _, rest = key.partition(".")
        row = [f"`{rest or group}`"]
        for env in ENVS:
            row.append(_cell(values[env][key]) if key in values[env] else "")
        groups.setdefault(group, []).append(row)
    features = [
        [f"`{f['name']}`", f["kind"], ", ".join(f"`{v}`" for v in f.get("values", []))]
        for f in values["base"].get("dataset.features", [])
    ]
    text = (
        "# Parameter reference\n\n"
        "Generated from `conf/base`, `conf/test` and `conf/prod` `parameters*.yml`, "
        "values as written (interpolations such as `${globals:random_seed}` are "
        "resolved by Kedro at run time). Parameters are deep-merged: an environment's "
        "column is empty where it keeps base's value. `conf/local` (yours, "
        "git-ignored) merges the same way over base for runs without `--env`. Nodes "
        "read a group as `params:<group>.<key>`.\n"
    )
    for group, rows in groups.items():
        text += f"\n## `{group}`\n\n" + _table(["parameter", *ENVS], rows)
        if group == "dataset":
            text += "\nThe schema's features (`dataset.features`):\n\n" + _table(
                ["feature", "kind", "allowed values (in order for ordinal)"], features
            )
    return text


def catalog_page(entries: dict[str, dict]) -> str:
    rows = []
    for name, entry in entries.items():
        info = describe_dataset(name, entries)
        rows.append(
            [
                f"`{name}`",
                f"`{info['type']}`",
                info["layer"],
                f"`{info['file']}`" if info["file"] else "",
                f"`{entry['_file']}`",
            ]
        )
    return (
        "# Data catalog\n\n"
        "Every entry of `conf/base/catalog*.yml` (generated). Patterns in braces are "
        "dataset factories. `MlflowArtifactDataset(...)` files are also logged to the "
        "MLflow run; `MlflowMetricsHistoryDataset` entries are MLflow metrics only.\n\n"
        + _table(["dataset", "type", "layer", "file", "defined in"], rows)
    )


def environments_page() -> str:
    """Every conf/<env>/README.md, the committed environments first."""
    envs = sorted(p.parent.name for p in (PROJECT / "conf").glob("*/README.md"))
    order = [e for e in ("local", "test", "prod") if e in envs]
    order += [e for e in envs if e not in order]
    text = (
        "# The environment folders\n\n"
        "Each `conf/<env>/README.md`, included as it is in the repository.\n"
    )
    for env in order:
        rel = Path("../../..") / "conf" / env / "README.md"
        text += f"\n```{{include}} {rel.as_posix()}\n:heading-offset: 1\n```\n"
    return text


def make_targets_page() -> str:
    rows = []
    pattern = re.compile(r"^([a-z][a-z-]*):.*?## (.*)$")
    for line in (PROJECT / "Makefile").read_text().splitlines():
        match = pattern.match(line)
        if match:
            rows.append([f"`make {match.group(1)}`", match.group(2)])
    return (
        "# Make targets\n\nGenerated from the `Makefile` (`make help` prints the same).\n\n"
        + _table(["target", "what it does"], rows)
    )


# --- architecture picture ------------------------------------------------------------
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


# --- Sphinx --------------------------------------------------------------------------
def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:  # unchanged: no rebuild
        path.write_text(text)


def generate(out: Path = OUT) -> dict[str, Any]:
    """Write every generated page into ``out``; return what was drawn."""
    pipelines = registered_pipelines()
    entries = catalog_entries()
    boxes, edges = architecture_graph(pipelines, entries)
    _write(out / "architecture.svg", architecture_svg(boxes, edges))
    names = sorted(n for n in pipelines if n not in {"__default__"})
    for name in names:
        _write(
            out / "pipelines" / f"{name}.md",
            pipeline_page(name, pipelines[name], entries),
        )
    for stale in (out / "pipelines").glob("*.md"):
        if stale.stem not in names:
            stale.unlink()
    _write(out / "parameters.md", parameters_page())
    _write(out / "catalog.md", catalog_page(entries))
    _write(out / "make_targets.md", make_targets_page())
    _write(out / "environments.md", environments_page())
    return {"pipelines": names, "boxes": boxes, "edges": edges}


def _on_builder_inited(app: Any) -> None:
    generate()


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
