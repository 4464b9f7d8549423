"""The documentation site covers the whole project; the READMEs stay short and current.

`make docs` (CI) builds the site with warnings as errors; these tests check what the
generator in docs/source/_ext/project_pages.py writes, without a Sphinx build, that
every page is in the table of contents, that the README's links resolve, and the
README and pipeline README size and wording rules.
"""

from __future__ import annotations

import importlib
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs/source"
PIPELINES = (
    "data_processing",
    "eda_reporting",
    "modelling",
    "drift_monitoring",
    "drift_simulation",
)
REGISTERED = (
    *PIPELINES,
    "training",
    "drift_monitoring_model",
    "batch_scoring",
)
PIPELINE_READMES = sorted(
    (PROJECT_ROOT / "src/student_performance/pipelines").glob("*/README.md")
)
README_MAX_LINES = 150
PIPELINE_README_MAX_LINES = 120
# Wording that tells history instead of what is true now.
HISTORY = re.compile(
    r"this session|before/after|\bwas\b[^.\n]{0,80}\bnow\b|\bused to\b|"
    r"\bno longer\b|\bany more\b",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict]:
    """The generator's pages in a temporary folder, imported as conf.py imports it."""
    modules = ("project_pages", "project_facts", "architecture_svg")
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        module = importlib.import_module("project_pages")
        out = tmp_path_factory.mktemp("docs_generated")
        return out, module.generate(out)
    finally:
        sys.path.remove(str(DOCS / "_ext"))
        for name in modules:
            sys.modules.pop(name, None)


def _leaves(tree: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            keys |= _leaves(value, f"{prefix}{key}.")
        else:
            keys.add(f"{prefix}{key}")
    return keys


def test_every_pipeline_has_a_page_with_its_readme_and_contract(generated):
    out, facts = generated
    assert set(REGISTERED) <= set(facts["pipelines"])
    for name in facts["pipelines"]:
        page = (out / "pipelines" / f"{name}.md").read_text()
        readme = PROJECT_ROOT / f"src/student_performance/pipelines/{name}/README.md"
        if readme.exists():
            assert f"src/student_performance/pipelines/{name}/README.md" in page
        assert "## Contract (generated from the code)" in page
        assert "MemoryDataset (not in the catalog)" not in page, name


def test_parameter_reference_lists_every_base_parameter(generated):
    out, _ = generated
    page = (out / "parameters.md").read_text()
    for path in sorted((PROJECT_ROOT / "conf/base").glob("parameters*.yml")):
        for key in _leaves(yaml.safe_load(path.read_text())):
            group, _, rest = key.partition(".")
            if key == "dataset.features":
                continue
            assert f"## `{group}`" in page, group
            assert f"`{rest or group}`" in page, f"{path.name}: {key}"
    assert "Father_occupation" in page  # the schema's features table


def test_architecture_picture_shows_the_pipelines(generated):
    out, facts = generated
    svg = (out / "architecture.svg").read_text()
    ET.fromstring(svg)  # well-formed
    for name in PIPELINES:
        assert f">{name}</text>" in svg
    edges = {(src, dst) for src, dst, _ in facts["edges"]}
    assert ("data_processing", "prm_students") in edges
    assert ("prm_students", "modelling") in edges
    assert ("modelling", "registry") in edges


def test_make_targets_page_lists_what_a_user_expects(generated):
    out, _ = generated
    page = (out / "make_targets.md").read_text()
    for target in ("run", "test", "lint", "viz", "jupyter", "mlflow-ui"):
        assert f"`make {target}`" in page
    for target in ("mlflow-server", "docs", "clean"):
        assert f"`make {target}`" in page


def test_every_environment_readme_is_on_the_site(generated):
    out, _ = generated
    page = (out / "environments.md").read_text()
    for readme in (PROJECT_ROOT / "conf").glob("*/README.md"):
        assert f"conf/{readme.parent.name}/README.md" in page


def test_every_page_is_in_the_table_of_contents():
    toctrees = "".join(
        page.read_text() for page in (DOCS / "index.md", DOCS / "pipelines.md")
    )
    listed = set(re.findall(r"^([a-z_]+)$", toctrees, re.MULTILINE))
    pages = {page.stem for page in DOCS.glob("*.md")} - {"index"}
    assert pages <= listed, sorted(pages - listed)


def test_architecture_page_names_every_registered_pipeline_and_layer():
    page = (DOCS / "architecture.md").read_text()
    assert "eight registered Kedro pipelines" in page
    for name in REGISTERED:
        assert f"`{name}`" in page, name
    for layer in ("pipelines/", "serving/", "scoring/", "drift/", "batch/", "core/"):
        assert layer in page, layer


def test_readme_set_up_is_the_two_commands_ci_runs():
    readme = (PROJECT_ROOT / "README.md").read_text()
    block = readme.split("## Set-up", 1)[1].split("```bash\n", 1)[1].split("```")[0]
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    assert commands == ["make run", "make test"]


def test_readme_lists_every_registered_pipeline_and_its_links_resolve():
    readme = (PROJECT_ROOT / "README.md").read_text()
    for name in REGISTERED:
        assert f"| `{name}` |" in readme, name
    for target in re.findall(r"\]\(([^)#\s]+)[^)]*\)", readme):
        if not re.match(r"^[a-z]+:", target):
            assert (PROJECT_ROOT / target).exists(), target
    # loading the registered model outside the project root needs the store's URI
    assert "MLFLOW_TRACKING_URI=sqlite:///" in readme


@pytest.mark.parametrize(
    "path",
    [PROJECT_ROOT / "README.md", *PIPELINE_READMES],
    ids=lambda p: p.relative_to(PROJECT_ROOT).as_posix(),
)
def test_readmes_are_short_and_tell_no_history(path: Path):
    text = path.read_text()
    limit = (
        README_MAX_LINES if path.parent == PROJECT_ROOT else PIPELINE_README_MAX_LINES
    )
    assert len(text.splitlines()) <= limit
    found = [m.group(0) for m in HISTORY.finditer(text)]
    assert not found, found
