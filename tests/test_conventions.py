"""Project conventions (../STYLE.md) that a reviewer should not have to check by eye."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from kedro.framework.project import pipelines as registered_pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from tests.conftest import PROJECT_ROOT

PIPELINES_DIR = PROJECT_ROOT / "src/student_performance/pipelines"
PIPELINE_NAMES = sorted(
    p.name for p in PIPELINES_DIR.iterdir() if (p / "pipeline.py").exists()
)
CATALOG_FILES = sorted((PROJECT_ROOT / "conf").glob("*/catalog*.yml"))


@pytest.fixture(scope="module")
def project_catalog():
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT, env="test") as session:
        yield session.load_context().catalog


def test_registry_holds_every_pipeline():
    bootstrap_project(PROJECT_ROOT)
    assert set(PIPELINE_NAMES) <= set(registered_pipelines)
    assert registered_pipelines["__default__"].nodes


@pytest.mark.parametrize("name", PIPELINE_NAMES)
def test_every_dataset_resolves_in_the_catalog(name, project_catalog):
    """Nothing falls back to a MemoryDataset by accident."""
    bootstrap_project(PROJECT_ROOT)
    datasets = {
        d for d in registered_pipelines[name].datasets() if not d.startswith("params:")
    }
    unresolved = sorted(d for d in datasets if d not in project_catalog)
    assert not unresolved, f"not in the catalog: {unresolved}"


# Pipelines of their own nodes; the others (training, drift_monitoring_model) compose them.
NODE_PIPELINES = [
    n for n in PIPELINE_NAMES if (PIPELINES_DIR / n / "nodes.py").exists()
]
PARAMETER_FILES = sorted((PROJECT_ROOT / "conf/base").glob("parameters_*.yml"))


@pytest.mark.parametrize("name", NODE_PIPELINES)
def test_each_pipeline_has_its_parameters_file(name):
    assert (PROJECT_ROOT / f"conf/base/parameters_{name}.yml").exists()


@pytest.mark.parametrize("path", PARAMETER_FILES, ids=lambda p: p.name)
def test_parameters_file_has_a_single_key_its_name(path: Path):
    name = path.stem.removeprefix("parameters_")
    assert list(yaml.safe_load(path.read_text())) == [name]


def test_node_names_are_unique_and_equal_their_function():
    """A name means one node everywhere (composite pipelines such as training reuse
    the nodes of data_processing and modelling, under the same names)."""
    bootstrap_project(PROJECT_ROOT)
    nodes = {n for name in PIPELINE_NAMES for n in registered_pipelines[name].nodes}
    names = [n.name for n in nodes]
    assert len(names) == len(set(names))
    for node in nodes:
        assert node.name.rsplit(".", 1)[-1] == node.func.__name__, node.name


@pytest.mark.parametrize(
    "path", CATALOG_FILES, ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_every_catalog_entry_has_a_kedro_viz_layer(path: Path):
    entries = yaml.safe_load(path.read_text()) or {}
    for name, entry in entries.items():
        if name.startswith("_"):
            continue
        layer = (entry.get("metadata") or {}).get("kedro-viz", {}).get("layer")
        assert layer, f"{path.name}: {name} has no metadata.kedro-viz.layer"


@pytest.mark.parametrize(
    "name", [n for n in PIPELINE_NAMES if (PIPELINES_DIR / n / "nodes.py").exists()]
)
def test_nodes_never_import_mlflow(name):
    tree = ast.parse((PIPELINES_DIR / name / "nodes.py").read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names
            if isinstance(node, ast.Import)
            else [ast.alias(node.module or "")]
        )
    }
    assert "mlflow" not in imported


@pytest.mark.parametrize("name", PIPELINE_NAMES)
def test_each_pipeline_folder_has_a_readme(name):
    assert (PIPELINES_DIR / name / "README.md").exists()
