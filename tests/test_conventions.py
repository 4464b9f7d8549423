"""Project conventions (docs: architecture, development) that a reviewer should not
have to check by eye."""

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


PACKAGE_DIR = PROJECT_ROOT / "src/student_performance"
# Library code that the pipelines call: it must never depend on a pipeline module.
LIBRARY_MODULES = sorted(
    p
    for p in PACKAGE_DIR.rglob("*.py")
    if "pipelines" not in p.relative_to(PACKAGE_DIR).parts
    and p.name not in {"pipeline_registry.py", "settings.py"}
)


def _imported_modules(path: Path) -> set[str]:
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module)
    return imported


@pytest.mark.parametrize(
    "path", LIBRARY_MODULES, ids=lambda p: str(p.relative_to(PACKAGE_DIR))
)
def test_library_code_never_imports_a_pipeline(path: Path):
    """Dependencies point one way: pipelines -> core, drift, serving, models -> schema.

    Only the registry (``pipeline_registry.py``) and Kedro's ``settings.py`` may know
    the pipelines; everything else (``core/``, ``drift/``, ``serving/``, ``models/``,
    ``registry.py``, ``hooks.py``, the datasets) is library code they call.
    """
    offending = sorted(
        m
        for m in _imported_modules(path)
        if m == "student_performance.pipelines"
        or m.startswith("student_performance.pipelines.")
    )
    assert not offending, f"{path.name} imports pipeline modules: {offending}"


# The layers, lowest first: a module imports only from layers below its own (or from
# its own package). Leaves know nothing of the project; batch/ is the one layer that
# reads big inputs; nothing but the pipelines and the service's own callers sits above
# serving/.
LAYERS = {
    **dict.fromkeys(("__init__", "frozen", "paths", "model_parts"), 0),
    "conf_loader": 1,
    **dict.fromkeys(("warnings_filter", "schema"), 1),
    "datasets": 2,
    "models": 3,
    "core": 4,
    **dict.fromkeys(("batch", "gate_lock", "promotion"), 5),
    **dict.fromkeys(("scoring", "drift", "performance", "registry", "monitoring"), 6),
    **dict.fromkeys(("serving", "hooks", "orchestration"), 7),
    "pipelines": 8,
    **dict.fromkeys(("settings", "pipeline_registry", "__main__"), 9),
}
PACKAGE_MODULES = sorted(PACKAGE_DIR.rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts).removesuffix(".__init__")


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _runtime_imports(path: Path) -> set[str]:
    """The project modules ``path`` imports when run (``if TYPE_CHECKING`` excluded)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for sub in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith("student_performance")}


@pytest.mark.parametrize(
    "path", PACKAGE_MODULES, ids=lambda p: str(p.relative_to(PACKAGE_DIR))
)
def test_imports_only_point_down_the_layers(path: Path):
    """No import climbs back up: e.g. scoring and drift share batch/, never each
    other; no library module imports serving."""
    mine = _unit(_module_name(path))
    assert mine in LAYERS, f"{mine} has no layer in LAYERS"
    upward = sorted(
        m
        for m in _runtime_imports(path)
        if _unit(m) != mine and LAYERS.get(_unit(m), 99) >= LAYERS[mine]
    )
    assert not upward, f"{path.name} imports up or sideways: {upward}"


def test_no_import_circles():
    """Function-level imports count: a circle hidden inside a function is a circle."""
    names = {_module_name(p): p for p in PACKAGE_MODULES}
    graph = {
        name: {m for m in _runtime_imports(path) if m in names and m != name}
        for name, path in names.items()
    }
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*trail, node, nxt]
            if nxt not in state and (circle := visit(nxt, [*trail, node])):
                return circle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            circle = visit(start, [])
            assert circle is None, "import circle: " + " -> ".join(circle)


SIZED_DIRS = ("src", "benchmarks", "studies", "scripts")
SIZED_FILES = sorted(p for d in SIZED_DIRS for p in (PROJECT_ROOT / d).rglob("*.py"))
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60


@pytest.mark.parametrize(
    "path", SIZED_FILES, ids=lambda p: str(p.relative_to(PROJECT_ROOT))
)
def test_modules_and_functions_stay_small(path: Path):
    """A module over 400 lines or a function over 60 (docstring included) is split."""
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"
