"""Where the project folder is: the `project_root` resolver behind every store path."""

from __future__ import annotations

from pathlib import Path

import pytest

import student_performance.paths as project_paths
import student_performance.settings as project_settings
from tests.conftest import PROJECT_ROOT


@pytest.fixture
def no_home(monkeypatch):
    monkeypatch.delenv(project_paths.PROJECT_HOME_ENV, raising=False)


def _kedro_project(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "pyproject.toml").write_text('[tool.kedro]\npackage_name = "x"\n')
    return path


def test_the_variable_wins(monkeypatch, tmp_path):
    monkeypatch.setenv(project_paths.PROJECT_HOME_ENV, str(tmp_path))
    assert project_paths.find_project_root() == tmp_path.resolve()


def test_the_source_checkout_when_imported_from_it(no_home, tmp_path):
    assert project_paths.find_project_root(cwd=tmp_path) == PROJECT_ROOT


def test_an_installed_package_uses_the_project_around_the_working_directory(
    no_home, monkeypatch, tmp_path
):
    """A wheel lives in site-packages: parents[2] is no project, so cwd decides."""
    site = tmp_path / "venv/lib/python3.11/site-packages/student_performance"
    site.mkdir(parents=True)
    monkeypatch.setattr(project_paths, "__file__", str(site / "paths.py"))
    project = _kedro_project(tmp_path / "project")
    (project / "notebooks").mkdir()

    assert project_paths.find_project_root(cwd=project / "notebooks") == project
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert project_paths.find_project_root(cwd=elsewhere) == elsewhere


def test_the_resolver_reads_the_variable_when_conf_is_read(monkeypatch, tmp_path):
    """Not frozen at import: Kedro imports settings before a command sets anything."""
    monkeypatch.setenv(project_paths.PROJECT_HOME_ENV, str(tmp_path))
    resolver = project_settings.CONFIG_LOADER_ARGS["custom_resolvers"]["project_root"]
    assert resolver() == tmp_path.resolve().as_posix()
