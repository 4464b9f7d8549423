"""The documentation site's generated pages cover the whole project.

`make docs` (CI) builds the site with warnings as errors; these tests check what the
generator in docs/source/_ext/project_pages.py writes, without a Sphinx build.
"""

from __future__ import annotations

import importlib.util
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


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict]:
    spec = importlib.util.spec_from_file_location(
        "project_pages", DOCS / "_ext/project_pages.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        out = tmp_path_factory.mktemp("docs_generated")
        return out, module.generate(out)
    finally:
        del sys.modules[spec.name]


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
    assert set(PIPELINES) | {"training"} <= set(facts["pipelines"])
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


def test_architecture_picture_shows_the_four_pipelines(generated):
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
