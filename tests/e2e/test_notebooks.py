"""notebooks/: committed without outputs, and each one runs headless (nbclient) from
top to bottom against the test environment of a project copy where `training` has run
(conftest's ``trained_project``: data_processing outputs, a training run and a champion
in the session's MLflow store). Any cell error fails the test.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import PROJECT_ROOT

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2  # noqa: PLR2004


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_has_no_outputs(path: Path):
    """Outputs and execution counts are stripped (nbstripout, .pre-commit-config)."""
    notebook = json.loads(path.read_text())
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell {index} has outputs"
            assert cell["execution_count"] is None, f"cell {index} was executed"
    assert "widgets" not in notebook["metadata"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_from_the_catalog(path: Path):
    sources = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]]
    code = "\n".join(sources)
    assert "%load_ext kedro.ipython" in code
    assert "%reload_kedro" in code
    assert "catalog.load(" in code


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_against_the_test_env(
    path: Path, trained_project: Path, monkeypatch, tmp_path
):
    monkeypatch.setenv("KEDRO_PROJECT_PATH", str(trained_project))
    monkeypatch.setenv("KEDRO_ENV", "test")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",  # ipykernel of this interpreter (the project's venv)
        resources={"metadata": {"path": str(trained_project)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    executed = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in executed)
    errors = [o for c in executed for o in c.outputs if o.output_type == "error"]
    assert not errors
    # every notebook ends on something to look at (a table or a figure)
    last = executed[-1].outputs
    assert any(o.output_type in {"execute_result", "display_data"} for o in last)
    nbformat.write(notebook, tmp_path / path.name)  # the executed copy, for a look
