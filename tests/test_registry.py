"""The registry gate and rollback, against a real (temporary) MLflow registry."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import mlflow
import pytest

from student_performance.gate_lock import gate_lock, gate_lock_path
from student_performance.promotion import (
    decide,
    decide_log_loss,
    decide_worst_group,
    metric_key,
    worst_group,
)
from student_performance.registry import (
    CHALLENGER,
    CHAMPION,
    CONFIG_ARTIFACT,
    SAME_FOLDS,
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


EXPERIMENT = "registry-tests"


def _training_run(score: float, configuration: dict | None = None) -> str:
    """A finished run that logged a model and the gate's metric, as training does."""
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run() as run:
        mlflow.log_metric(metric_key(METRIC), score)
        mlflow.pyfunc.log_model(name="model", python_model=_Echo(), pip_requirements=[])
        if configuration is not None:
            mlflow.log_dict(configuration, CONFIG_ARTIFACT)
    return run.info.run_id


@pytest.fixture(scope="module")
def experiment(_isolated_tracking):
    """The runs' experiment, its artifacts in the session's temporary store (a new
    experiment on an SQLite store would otherwise put them in ./mlruns)."""
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        location = (_isolated_tracking / "mlartifacts" / EXPERIMENT).as_uri()
        mlflow.create_experiment(EXPERIMENT, artifact_location=location)
    return EXPERIMENT


@pytest.fixture
def registry(experiment):
    client = mlflow.MlflowClient()
    name = f"test-model-{uuid.uuid4().hex[:8]}"

    def gate(score: float) -> dict:
        return register_and_gate(
            client, _training_run(score), name, METRIC, tolerance=0.01
        )

    return client, name, gate


@pytest.mark.slow  # a real (temporary) MLflow registry
def test_first_model_becomes_champion(registry):
    client, name, gate = registry
    decision = gate(0.60)
    assert decision["promoted"] and decision["champion_version"] is None
    assert status(client, name)[CHAMPION]["version"] == 1


@pytest.mark.slow  # a real (temporary) MLflow registry
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


@pytest.mark.slow  # a real (temporary) MLflow registry
def test_rollback_restores_the_previous_champion(registry):
    client, name, gate = registry
    gate(0.60)
    with pytest.raises(RuntimeError, match="first champion"):
        rollback(client, name)
    gate(0.65)
    assert rollback(client, name) == {"from_version": 2, "to_version": 1}
    assert status(client, name)[CHAMPION]["version"] == 1
    assert client.get_model_version(name, "2").tags["rolled_back"] == "true"


@pytest.mark.slow  # a real (temporary) MLflow registry
def test_the_champion_is_re_scored_on_the_challengers_folds(registry):
    """After new data the recorded figures are on different rows: the gate compares
    the challenger with the champion's configuration scored on the challenger's folds."""
    client, name, _ = registry
    ridge = {"estimator": "ordinal_ridge", "ordinal_as": "onehot", "params": {"a": 1}}
    register_and_gate(client, _training_run(0.60, ridge), name, METRIC, 0.01)
    seen = []

    def rescore(configuration: dict) -> float:
        seen.append(configuration)
        return 0.52  # the champion's configuration on the new data

    decision = register_and_gate(
        client, _training_run(0.58, ridge), name, METRIC, 0.01, rescore=rescore
    )
    assert seen == [ridge]
    assert decision["comparison"] == SAME_FOLDS
    assert (decision["champion_score"], decision["champion_recorded_score"]) == (
        0.52,
        0.60,
    )
    # 0.58 is worse than the recorded 0.60, but better than the champion on these rows.
    assert decision["promoted"]
    assert SAME_FOLDS in decision["reason"]
    tags = client.get_model_version(name, str(decision["challenger_version"])).tags
    assert tags["promotion.comparison"] == SAME_FOLDS


@pytest.mark.slow  # a real (temporary) MLflow registry
def test_a_champion_without_a_configuration_is_compared_as_recorded(registry):
    client, name, gate = registry
    gate(0.60)  # logged no model_selected_config.json

    calls = []
    decision = register_and_gate(
        client, _training_run(0.55), name, METRIC, 0.01, rescore=calls.append
    )
    assert calls == []
    assert decision["champion_score"] == decision["champion_recorded_score"] == 0.60
    assert decision["comparison"] == (
        "recorded figures: the champion logged no model_selected_config.json"
    )
    assert not decision["promoted"]


@pytest.mark.slow  # a real (temporary) MLflow registry
def test_a_configuration_that_fails_to_re_score_falls_back_and_says_why(registry):
    client, name, _ = registry
    gone = {"estimator": "svm", "ordinal_as": "onehot", "params": {}}
    register_and_gate(client, _training_run(0.60, gone), name, METRIC, 0.01)

    def rescore(configuration: dict) -> float:
        raise ValueError(f"unknown estimator {configuration['estimator']!r}")

    decision = register_and_gate(
        client, _training_run(0.62, gone), name, METRIC, 0.01, rescore=rescore
    )
    assert decision["champion_score"] == 0.60
    assert (
        "could not be re-scored (ValueError: unknown estimator 'svm')"
        in (decision["comparison"])
    )
    assert decision["promoted"]


# --- two gates at once: real processes --------------------------------------------

_GATE_SCRIPT = """
import json, logging, sys
import mlflow
from student_performance.registry import register_and_gate
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
run_id, name, metric = sys.argv[1:]
decision = register_and_gate(mlflow.MlflowClient(), run_id, name, metric, 0.01)
print(json.dumps(decision))
"""
_WAITING = "another run holds the gate"


def _wait_for(predicate, processes, what: str, timeout: float = 120.0) -> None:
    """Poll until ``predicate()``; fail if a process exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while not predicate():
        for process, log in processes:
            assert process.poll() is None, f"gate exited: {log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.slow  # real processes, each importing MLflow
def test_two_gates_at_once_run_one_after_the_other(tmp_path):
    """The test holds the store's gate lock, starts two processes that each register
    and gate a challenger, waits until both wait for the lock, then lets go: one gate
    runs after the other, so each record is true and there is one champion. Without
    the lock both would compare with "no champion" and both record "promoted"."""
    client = mlflow.MlflowClient()
    name = f"test-model-{uuid.uuid4().hex[:8]}"
    runs = [_training_run(0.60), _training_run(0.60)]
    processes = []
    with gate_lock(mlflow.get_tracking_uri()):
        for i, run_id in enumerate(runs):
            out, err = tmp_path / f"gate{i}.json", tmp_path / f"gate{i}.log"
            process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-c", _GATE_SCRIPT, run_id, name, METRIC],
                stdout=out.open("w"),
                stderr=err.open("w"),
            )
            processes.append((process, err))
        _wait_for(
            lambda: all(_WAITING in log.read_text() for _, log in processes),
            processes,
            "both gates to wait for the lock",
        )
    for process, log in processes:
        assert process.wait(timeout=120) == 0, log.read_text()[-2000:]
    decisions = sorted(
        (json.loads((tmp_path / f"gate{i}.json").read_text()) for i in range(2)),
        key=lambda d: d["challenger_version"],
    )
    first, second = decisions
    assert first["champion_version"] is None and first["promoted"]
    assert second["champion_version"] == first["challenger_version"]
    assert second["promoted"]  # equal figures: not worse, it takes over
    assert status(client, name)[CHAMPION]["version"] == second["challenger_version"]
    for decision in decisions:
        tags = client.get_model_version(name, str(decision["challenger_version"])).tags
        assert tags["promotion.champion_version"] == str(decision["champion_version"])


def test_gate_lock_sits_beside_the_sqlite_store(tmp_path):
    assert gate_lock_path(f"sqlite:///{tmp_path}/mlflow.db") == (
        tmp_path / "mlflow.db.gate.lock"
    )
    assert gate_lock_path(str(tmp_path / "mlruns")) == tmp_path / "mlruns/.gate.lock"
    remote = gate_lock_path("http://mlflow.internal:5000")
    assert remote.parent == Path(tempfile.gettempdir())
    assert remote == gate_lock_path("http://mlflow.internal:5000")


@pytest.mark.parametrize(
    ("challenger", "champion", "tolerance", "passes"),
    [
        (1.06, 1.07, 0.02, True),
        (1.08, 1.07, 0.02, True),
        (1.10, 1.07, 0.02, False),
        (1.50, 1.07, None, True),  # not checked
        (None, 1.07, 0.02, True),  # a champion or challenger without the figure
    ],
)
def test_decide_log_loss(challenger, champion, tolerance, passes):
    assert decide_log_loss(challenger, champion, tolerance)[0] is passes


def _run_with_log_loss(score: float, log_loss: float) -> str:
    run_id = _training_run(score)
    mlflow.MlflowClient().log_metric(run_id, metric_key("log_loss"), log_loss)
    return run_id


def test_a_challenger_with_worse_probabilities_is_refused_and_both_figures_named(
    registry,
):
    client, name, _ = registry
    register_and_gate(
        client, _run_with_log_loss(0.60, 1.06), name, METRIC, 0.01, None, 0.02
    )
    decision = register_and_gate(
        client, _run_with_log_loss(0.62, 1.15), name, METRIC, 0.01, None, 0.02
    )
    assert not decision["promoted"]  # better kappa, worse log loss
    assert (decision["challenger_log_loss"], decision["champion_log_loss"]) == (
        1.15,
        1.06,
    )
    assert "log_loss 1.1500 vs champion 1.0600" in decision["reason"]
    assert status(client, name)[CHAMPION]["version"] == 1


def test_a_re_score_with_every_metric_compares_log_loss_like_for_like(registry):
    client, name, _ = registry
    ridge = {"estimator": "ordinal_ridge", "params": {"alpha": 3.0}}
    first = _training_run(0.60, ridge)
    client.log_metric(first, metric_key("log_loss"), 1.20)
    register_and_gate(client, first, name, METRIC, 0.01)
    decision = register_and_gate(
        client,
        _run_with_log_loss(0.60, 1.06),
        name,
        METRIC,
        0.01,
        rescore=lambda _: {METRIC: 0.59, "log_loss": 1.05},
        log_loss_tolerance=0.02,
    )
    assert decision["promoted"] and decision["comparison"] == SAME_FOLDS
    assert decision["champion_score"] == 0.59
    assert decision["champion_log_loss"] == 1.05  # re-scored, not the recorded 1.20


def _groups(qwk: dict[str, float], coverage: float = 0.9, small: str = "") -> dict:
    """``fairness.*`` metrics of one run: a QWK per Caste group, one coverage."""
    metrics = {}
    for group, value in qwk.items():
        metrics[f"fairness.Caste.{group}.quadratic_weighted_kappa"] = value
        metrics[f"fairness.Caste.{group}.coverage"] = coverage
        metrics[f"fairness.Caste.{group}.small"] = float(group == small)
    metrics["fairness.Caste.gap.quadratic_weighted_kappa"] = 0.0
    return metrics


def test_worst_group_leaves_small_groups_and_gaps_out():
    metrics = _groups({"General": 0.6, "SC": 0.5, "ST": 0.1}, small="ST")
    assert worst_group(metrics, METRIC) == ("Caste=SC", 0.5)
    assert worst_group({}, METRIC) == (None, None)


def test_decide_worst_group_names_the_group_and_the_drop():
    champion = _groups({"General": 0.60, "SC": 0.55})
    passes, reason = decide_worst_group(
        _groups({"General": 0.70, "SC": 0.45}), champion, 0.05
    )
    assert not passes
    assert "challenger Caste=SC 0.4500 vs champion Caste=SC 0.5500" in reason
    assert "lower by 0.1000" in reason
    assert decide_worst_group(_groups({"General": 0.7, "SC": 0.52}), champion, 0.05)[0]
    assert decide_worst_group({}, champion, 0.05)[0]  # not compared, and says so
    assert decide_worst_group({}, champion, None) == (True, "")


@pytest.mark.slow  # a real (temporary) MLflow registry
def test_a_challenger_better_on_average_but_worse_for_one_group_is_refused(
    registry,
):
    client, name, _ = registry
    champion = _training_run(0.60)
    for key, value in _groups({"General": 0.62, "OBC": 0.60, "SC": 0.55}).items():
        client.log_metric(champion, key, value)
    register_and_gate(client, champion, name, METRIC, 0.01, None, None, 0.05)
    challenger = _training_run(0.65)  # better on average ...
    for key, value in _groups({"General": 0.75, "OBC": 0.70, "SC": 0.40}).items():
        client.log_metric(challenger, key, value)  # ... worse for SC students
    decision = register_and_gate(
        client, challenger, name, METRIC, 0.01, worst_group_tolerance=0.05
    )
    assert not decision["promoted"]
    assert decision["worst_group_tolerance"] == 0.05
    assert (
        "challenger Caste=SC 0.4000 vs champion Caste=SC 0.5500" in (decision["reason"])
    )
    assert "lower by 0.1500" in decision["worst_group_reason"]
    assert status(client, name)[CHAMPION]["version"] == 1


@pytest.mark.slow  # a real (temporary) MLflow registry
def test_the_champion_is_re_scored_on_the_features_it_was_trained_with(registry):
    client, name, _ = registry
    ridge = {"estimator": "ordinal_ridge", "params": {"alpha": 3.0}}
    champion = _training_run(0.30, ridge)
    client.log_text(champion, json.dumps(["time", "coaching"]), "model_features.json")
    register_and_gate(client, champion, name, METRIC, 0.01)
    seen = []
    register_and_gate(
        client,
        _training_run(0.31),
        name,
        METRIC,
        0.01,
        rescore=lambda configuration: seen.append(configuration) or 0.30,
    )
    assert seen[0]["features"] == ["time", "coaching"]
    assert seen[0]["estimator"] == "ordinal_ridge"
