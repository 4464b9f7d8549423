"""The registry gate and rollback, against a real (temporary) MLflow registry."""

from __future__ import annotations

import uuid

import mlflow
import pytest

from student_performance.registry import (
    CHALLENGER,
    CHAMPION,
    decide,
    metric_key,
    register_and_gate,
    rollback,
    status,
)

METRIC = "quadratic_weighted_kappa"


@pytest.mark.parametrize(
    ("challenger", "champion", "promote"),
    [(0.60, None, True), (0.65, 0.60, True), (0.595, 0.60, True), (0.55, 0.60, False)],
)
def test_decide(challenger, champion, promote):
    assert decide(challenger, champion, 0.01, METRIC)[0] is promote


def test_decide_lower_is_better_for_log_loss():
    assert decide(1.00, 1.10, 0.01, "log_loss")[0] is True
    assert decide(1.20, 1.10, 0.01, "log_loss")[0] is False


class _Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


def _training_run(score: float) -> str:
    """A finished run that logged a model and the gate's metric, as training does."""
    mlflow.set_experiment("registry-tests")
    with mlflow.start_run() as run:
        mlflow.log_metric(metric_key(METRIC), score)
        mlflow.pyfunc.log_model(name="model", python_model=_Echo(), pip_requirements=[])
    return run.info.run_id


@pytest.fixture
def registry():
    client = mlflow.MlflowClient()
    name = f"test-model-{uuid.uuid4().hex[:8]}"

    def gate(score: float) -> dict:
        return register_and_gate(
            client, _training_run(score), name, METRIC, tolerance=0.01
        )

    return client, name, gate


def test_first_model_becomes_champion(registry):
    client, name, gate = registry
    decision = gate(0.60)
    assert decision["promoted"] and decision["champion_version"] is None
    assert status(client, name)[CHAMPION]["version"] == 1


def test_worse_challenger_does_not_replace_champion_better_one_does(registry):
    client, name, gate = registry
    gate(0.60)
    worse = gate(0.50)
    assert not worse["promoted"]
    assert (worse["challenger_score"], worse["champion_score"]) == (0.50, 0.60)
    assert status(client, name) == {
        CHAMPION: {"version": 1, "run_id": status(client, name)[CHAMPION]["run_id"]},
        CHALLENGER: {"version": 2, "run_id": worse["challenger_run_id"]},
    }
    tags = client.get_run(worse["challenger_run_id"]).data.tags
    assert tags["promotion.decision"] == "rejected"
    better = gate(0.70)
    assert better["promoted"] and better["champion_version"] == 1
    assert status(client, name)[CHAMPION]["version"] == 3


def test_rollback_restores_the_previous_champion(registry):
    client, name, gate = registry
    gate(0.60)
    with pytest.raises(RuntimeError, match="first champion"):
        rollback(client, name)
    gate(0.65)
    assert rollback(client, name) == {"from_version": 2, "to_version": 1}
    assert status(client, name)[CHAMPION]["version"] == 1
    assert client.get_model_version(name, "2").tags["rolled_back"] == "true"
