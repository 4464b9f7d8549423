"""Facts about the project that the generated pages and the architecture picture show.

The registered pipelines (``pipeline_registry.py``), the ``conf/base`` catalog entries
and the parameters of the committed environments, read from the project itself.
"""

from __future__ import annotations

import re
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
