"""`--env prod` against a real `mlflow server`, started by the script behind
`make mlflow-server` on a free loopback port, its backend and artifacts in tmp.

The run is made fast with the test-sized search: conf/test/parameters_modelling.yml is
copied into the project copy's conf/prod (Kedro reads one env on top of base, so this is
how a test layers "prod, but small"). Everything else is conf/prod as shipped.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import mlflow
import pandas as pd
import pytest

from tests.conftest import (
    PROJECT_ROOT,
    make_project_copy,
    registered_model_name,
    run_kedro,
)
from tests.e2e.background import (
    LOOPBACK,
    free_port,
    process_group,
    restored_mlflow_uris,
    wait_for_http,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """`scripts/mlflow_server.sh` (as `make mlflow-server` runs it) in tmp."""
    root = tmp_path_factory.mktemp("mlflow_server")
    port = free_port()
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")
    }
    env.update(
        MLFLOW_SERVER_PORT=str(port),
        MLFLOW_SERVER_DIR=str(root / "store"),
        MLFLOW=str(Path(sys.executable).with_name("mlflow")),
    )
    log = root / "server.log"
    script = PROJECT_ROOT / "scripts/mlflow_server.sh"
    with process_group(["bash", str(script)], log, env=env) as process:
        uri = f"http://{LOOPBACK}:{port}"
        wait_for_http(f"{uri}/health", process, log)
        yield SimpleNamespace(uri=uri, store=root / "store", process=process)


@pytest.fixture(scope="module")
def prod_run(mlflow_server, tmp_path_factory):
    """One `kedro run --pipelines training --env prod` against the server."""
    project = make_project_copy(tmp_path_factory.mktemp("prod"))
    shutil.copy(
        PROJECT_ROOT / "conf/test/parameters_modelling.yml",
        project / "conf/prod/parameters_modelling.yml",
    )
    with restored_mlflow_uris(), pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
        mp.delenv("MLFLOW_ARTIFACT_ROOT")  # prod must not need it
        run_kedro(project, ["training"], env="prod")
    client = mlflow.MlflowClient(
        tracking_uri=mlflow_server.uri, registry_uri=mlflow_server.uri
    )
    return SimpleNamespace(project=project, client=client, server=mlflow_server)


def _only_run(client: mlflow.MlflowClient):
    experiment = client.get_experiment_by_name("student_performance")
    assert experiment is not None, "no experiment on the server"
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1, [r.info.run_name for r in runs]
    return experiment, runs[0]


def test_the_run_and_its_metrics_are_on_the_server(prod_run):
    experiment, run = _only_run(prod_run.client)
    assert experiment.artifact_location.startswith("mlflow-artifacts:")
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "training"
    metrics = run.data.metrics
    assert 0 < metrics["selected.cv_quadratic_weighted_kappa"] <= 1
    assert "selected.holdout_accuracy" in metrics
    assert metrics["data_quality.rows_in"] == 679
    assert any(key.startswith("cv.ordinal_ridge.") for key in metrics)
    # prod's parameters were in force: stricter quality threshold, test-sized search
    assert run.data.params["data_processing.quality.max_missing_share"] == "0.01"
    assert run.data.params["modelling.cv.n_splits"] == "3"


def test_artifacts_went_through_the_server(prod_run):
    _, run = _only_run(prod_run.client)
    listed = {a.path for a in prod_run.client.list_artifacts(run.info.run_id)}
    assert {"confusion_matrix.png", "promotion_decision.json"} <= listed
    stored = prod_run.server.store / "artifacts"
    assert list(stored.rglob("confusion_matrix.png"))
    assert list(stored.rglob("MLmodel")), "the bundled model is not in the server store"
    # nothing fell back to the embedded store of the project
    for local in ("mlflow.db", "mlartifacts", "mlruns"):
        assert not (prod_run.project / local).exists(), local


def test_the_model_is_registered_and_gated_with_prod_tolerance(prod_run):
    _, run = _only_run(prod_run.client)
    name = registered_model_name(prod_run.project)
    champion = prod_run.client.get_model_version_by_alias(name, "champion")
    challenger = prod_run.client.get_model_version_by_alias(name, "challenger")
    assert champion.version == challenger.version == "1"
    assert champion.run_id == run.info.run_id
    decision = json.loads(
        (prod_run.project / "data/08_reporting/promotion_decision.json").read_text()
    )
    assert decision["tolerance"] == 0  # conf/prod/parameters_training.yml
    assert decision["promoted"] is True


def test_the_champion_loads_from_the_server_and_predicts_raw_rows(prod_run):
    """As a serving process would: models:/<name>@champion, downloaded from the server."""
    name = registered_model_name(prod_run.project)
    with restored_mlflow_uris():
        mlflow.set_tracking_uri(prod_run.server.uri)
        mlflow.set_registry_uri(prod_run.server.uri)
        model = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    raw = pd.read_csv(
        prod_run.project / "data/05_model_input/raw_rows_example.csv",
        dtype="string",
        keep_default_na=False,
    )
    predictions = model.predict(raw)
    assert len(predictions) == len(raw)
    assert set(predictions["prediction"]) <= {"Average", "Good", "Vg", "Excellent"}
