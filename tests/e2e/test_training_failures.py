"""End-to-end: training that must refuse, fail or die, and the registry after it.

Real ``kedro run`` processes where the point is what a user sees (the closing lines) or
what the operating system does (a SIGKILL); in-process sessions otherwise. All on the
``test`` conf env's small settings with two candidates, the MLflow store of the session
(``tests/conftest.py``), registry state compared before and after. Two gates at once:
``tests/test_registry.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest

from student_performance.pipelines.modelling.preflight import UntrainableDataError
from tests.conftest import make_project_copy, registered_model_name, run_kedro

pytestmark = pytest.mark.slow

KEDRO = str(Path(sys.executable).with_name("kedro"))
RAW_NAME = "student_entry_performance_modified.csv"
DEADLINE = 600.0  # seconds for one training process on a busy 2-core machine


# Two candidates instead of five: what is tested here is not the selection.
FEW_CANDIDATES = {
    "modelling": {
        "candidates": {
            name: {"enabled": False}
            for name in ("random_forest", "lightgbm", "ordinal_ridge")
        }
    }
}
FEW_CANDIDATES_CLI = ",".join(
    f"modelling.candidates.{name}.enabled=false"
    for name in FEW_CANDIDATES["modelling"]["candidates"]
)


def _kedro_training(project: Path, log: Path) -> subprocess.Popen:
    """``kedro run --pipelines training --env test`` in its own process group."""
    return subprocess.Popen(  # noqa: S603
        [KEDRO, "run", "--pipelines", "training", "--env", "test"]
        + ["--params", FEW_CANDIDATES_CLI],
        cwd=project,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=os.environ | {"KEDRO_DISABLE_TELEMETRY": "1"},
        start_new_session=True,
    )


def _wait(process: subprocess.Popen, log: Path) -> str:
    try:
        process.wait(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return log.read_text(errors="replace")


def _registry_state(name: str) -> dict:
    """Every version of a registered model with its tags, and who holds which alias."""
    client = mlflow.MlflowClient()
    versions = client.search_model_versions(f"name = '{name}'")
    aliases = {}
    if versions:
        aliases = dict(client.get_registered_model(name).aliases)
    return {
        "versions": {int(v.version): dict(v.tags) for v in versions},
        "aliases": {alias: int(v) for alias, v in aliases.items()},
    }


def _decision(name: str, version: int) -> dict:
    run_id = mlflow.MlflowClient().get_model_version(name, str(version)).run_id
    return mlflow.artifacts.load_dict(f"runs:/{run_id}/promotion_decision.json")


def _same_model_name(project: Path, name: str) -> Path:
    params = project / "conf/base/parameters_training.yml"
    current = registered_model_name(project)
    params.write_text(params.read_text().replace(current, name))
    return project


@pytest.fixture(scope="module")
def with_champion(tmp_path_factory) -> Path:
    """A project copy after one successful training: its model has a champion."""
    project = make_project_copy(tmp_path_factory.mktemp("champion"))
    run_kedro(project, ["training"], env="test", runtime_params=FEW_CANDIDATES)
    assert _registry_state(registered_model_name(project))["aliases"]["champion"] == 1
    return project


def test_a_run_killed_mid_training_leaves_the_registry_and_the_next_run_succeeds(
    with_champion,
):
    project, name = with_champion, registered_model_name(with_champion)
    before = _registry_state(name)
    log = project / "killed.log"
    marker = project / "data/05_model_input/development.parquet"
    marker.unlink()
    process = _kedro_training(project, log)
    deadline = time.monotonic() + DEADLINE
    while not marker.exists():  # the split is done: cross-validation is under way
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, "training never reached the split"
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert _registry_state(name) == before

    run_kedro(project, ["training"], env="test", runtime_params=FEW_CANDIDATES)
    after = _registry_state(name)
    new = max(after["versions"])
    assert sorted(after["versions"]) == [*sorted(before["versions"]), new]
    assert _decision(name, new)["champion_version"] == before["aliases"]["champion"]


def _write_raw(project: Path, rows: list[str]) -> None:
    raw = project / "data/01_raw" / RAW_NAME
    header = raw.read_text().splitlines()[0]
    raw.write_text("\n".join([header, *rows]) + "\n")


def _one_class(project: Path) -> None:
    lines = (project / "data/01_raw" / RAW_NAME).read_text().splitlines()[1:]
    _write_raw(project, ["Good" + line[line.index(",") :] for line in lines])


def _five_rows(project: Path) -> None:
    lines = (project / "data/01_raw" / RAW_NAME).read_text().splitlines()[1:]
    _write_raw(project, lines[:5])


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_one_class, r"classes \{'Average': 0, 'Good': 595, 'Vg': 0, 'Excellent': 0\}"),
        (_five_rows, r"cannot train on \d rows .* at least 50 rows"),
    ],
    ids=["one_class", "five_rows"],
)
def test_untrainable_data_registers_nothing_and_keeps_the_champion(
    with_champion, tmp_path, damage, message
):
    name = registered_model_name(with_champion)
    project = _same_model_name(make_project_copy(tmp_path), name)
    damage(project)
    before = _registry_state(name)
    with pytest.raises(UntrainableDataError, match=message):
        run_kedro(project, ["training"], env="test")
    assert _registry_state(name) == before
    assert not (project / "data/05_model_input/development.parquet").exists()


def test_a_late_node_failure_is_the_last_thing_printed(tmp_path):
    """A fault in a node after cross-validation (its output cannot be written): the
    closing lines are that error, not kedro-mlflow's about the resume hint."""
    project = make_project_copy(tmp_path)
    name = registered_model_name(project)
    not_a_folder = f"data/01_raw/{RAW_NAME}/feature_importance.csv"
    (project / "conf/test/catalog_fault.yml").write_text(
        json.dumps(
            {
                "rpt_feature_importance": {
                    "type": "pandas.CSVDataset",
                    "filepath": not_a_folder,
                    "metadata": {"kedro-viz": {"layer": "reporting"}},
                }
            }
        )
    )
    log = tmp_path / "training.log"
    process = _kedro_training(project, log)
    output = _wait(process, log)
    assert process.returncode != 0
    closing = output.rstrip().splitlines()[-2:]
    assert "KedroMlflowPipelineMLError" not in output
    assert closing[0].startswith(
        "kedro.io.core.DatasetError: rpt_feature_importance: Failed while saving data"
    )
    assert not_a_folder in closing[0]
    assert closing[1].endswith(f"File exists: '{project / 'data/01_raw' / RAW_NAME}'")
    assert "Completed node: modelling.evaluate_candidates" in output  # a late node
    assert _registry_state(name)["versions"] == {}
