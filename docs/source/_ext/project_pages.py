"""Pages generated from the project itself, written before Sphinx reads the sources.

Nothing here is copied by hand, so the site cannot drift from the code:

- ``generated/architecture.svg``: the registered pipelines and the datasets that flow
  between them, drawn by ``architecture_svg.py`` from the facts of
  ``project_facts.py`` (``pipeline_registry.py`` and the catalog);
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

import json
import re
from pathlib import Path
from typing import Any

from architecture_svg import architecture_graph, architecture_svg
from project_facts import (
    ENVS,
    OUT,
    PACKAGE,
    PROJECT,
    catalog_entries,
    describe_dataset,
    env_parameters,
    registered_pipelines,
)


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
