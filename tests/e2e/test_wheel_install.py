"""The packaged project works outside the source tree.

A wheel of the project installed into a folder of its own (`pip install --target`,
dependencies from the test's environment), then `kedro run` from a project folder that
holds only pyproject.toml, conf/ and the raw file: the data and the default MLflow
store land in that folder, nothing in the installed package's folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, make_project_copy

pytestmark = pytest.mark.slow

# where the package is imported from, and whether the service ships its page
_WHERE = """
from importlib.resources import files
import student_performance, student_performance.serving.app
print(student_performance.__file__, files("student_performance.serving").joinpath(
    "static/index.html").is_file())
"""


def _pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
        check=True,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory) -> Path:
    """The project's wheel, installed without dependencies into its own folder."""
    root = tmp_path_factory.mktemp("wheel")
    _pip("wheel", "--no-deps", "-w", str(root), str(PROJECT_ROOT))
    (wheel,) = root.glob("student_performance-*.whl")
    _pip("install", "--no-deps", "--target", str(root / "site"), str(wheel))
    return root / "site"


def test_a_wheel_runs_from_a_project_folder_outside_the_source_tree(
    installed_wheel, tmp_path
):
    project = make_project_copy(tmp_path / "project")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MLFLOW_") and k != "STUDENT_PERFORMANCE_HOME"
    }
    env |= {"PYTHONPATH": str(installed_wheel), "KEDRO_DISABLE_TELEMETRY": "1"}

    where = subprocess.run(
        [sys.executable, "-c", _WHERE],
        cwd=project,
        check=False,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.returncode == 0, where.stderr[-3000:]
    package, page = where.stdout.split()
    assert Path(package).is_relative_to(installed_wheel), package
    assert page == "True", "the service's page is not in the wheel"

    done = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--pipelines", "data_processing"],
        cwd=project,
        check=False,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    assert (project / "mlflow.db").is_file()
    assert (project / "mlartifacts").is_dir()
    assert list((project / "data/03_primary").glob("*.parquet"))
    leaked = [
        p.relative_to(installed_wheel)
        for p in installed_wheel.rglob("*")
        if p.name in {"mlflow.db", "mlartifacts", "data"}
    ]
    assert not leaked, f"written into the installed package's folder: {leaked}"
