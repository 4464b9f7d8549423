"""The model registry: register each trained model, promote it only if it is not worse.

Every successful ``kedro run --pipelines training`` registers its bundled model as a new
version of the registered model (name in ``parameters_training.yml``) with the alias
``challenger``. The gate compares the challenger's primary metric (the selected model's
repeated-CV mean, logged as ``selected.cv_<metric>``) with the current ``champion``'s:
the challenger becomes ``champion`` unless it is worse by more than ``tolerance``; the
first model always does. The decision and both figures are set as tags on the run and
the model version. A failed run registers nothing, so it never changes the champion.

Like for like: each figure is a CV mean on its own run's development data, and after
new data arrives those are different rows. So the gate re-scores the champion's
configuration (its run's ``model_selected_config.json``: estimator, encoding,
parameters) on the challenger's development data and folds, through the ``rescore``
callable the hook passes, and compares that. On unchanged data the re-score equals the
champion's own figure. If the configuration cannot be re-scored (a champion logged
before configurations were, or an estimator this code no longer knows), the gate falls
back to the champion's recorded figure and says so in the decision.

One gate at a time per tracking store: two trainings that finish together (two
terminals, a scheduler retrying) would otherwise both compare against the same old
champion and both record "promoted", the later alias write winning. The gate, and
rollback, hold a file lock keyed by the store (``gate_lock``): beside the SQLite file
or inside the file store, so every process on the machine sees it; for a remote server
in the machine's temporary folder, which serialises the trainings of one machine only.
The operating system releases the lock of a killed process, and a run killed before
the gate registers nothing.

Rollback (the previous champion back, recorded on each promoted version)::

    python -m student_performance.registry rollback   # or: make rollback
    python -m student_performance.registry status

MLflow is used here, never in nodes: this runs from a hook and from the command line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import mlflow
from filelock import FileLock, Timeout
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from student_performance.models.metrics import LOWER_IS_BETTER
from student_performance.paths import find_project_root

logger = logging.getLogger(__name__)

CHAMPION, CHALLENGER = "champion", "challenger"
PREVIOUS_CHAMPION_TAG = "previous_champion_version"
CONFIG_ARTIFACT = "model_selected_config.json"
SAME_FOLDS = "champion's configuration re-scored on the challenger's folds"

GATE_LOCK_TIMEOUT = 3600.0  # seconds: a gate re-scores by CV, so it may take minutes


def gate_lock_path(tracking_uri: str) -> Path:
    """The lock file that serialises the gate on one tracking store.

    Args:
        tracking_uri: The store's URI (``sqlite:///...``, a folder, ``http://...``).

    Returns:
        ``<db>.gate.lock`` beside an SQLite file, ``.gate.lock`` in a file store, else
        a file in the temporary folder named after the URI's hash.
    """
    parsed = urlparse(tracking_uri)
    if parsed.scheme == "sqlite":
        database = Path(tracking_uri.removeprefix("sqlite:///")).resolve()
        return database.with_name(f"{database.name}.gate.lock")
    if parsed.scheme in {"", "file"}:
        return Path(parsed.path or tracking_uri).resolve() / ".gate.lock"
    digest = hashlib.sha256(tracking_uri.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"student_performance-gate-{digest}.lock"


@contextmanager
def gate_lock(tracking_uri: str, timeout: float = GATE_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the store's gate lock (``gate_lock_path``), waiting for another holder.

    Raises:
        RuntimeError: Still held by another process after ``timeout`` seconds.
    """
    path = gate_lock_path(tracking_uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        logger.info("Registry: another run holds the gate (%s): waiting", path)
        try:
            lock.acquire(timeout=timeout)
        except Timeout as err:
            raise RuntimeError(
                f"registry gate still locked by another run after {timeout:.0f} s "
                f"({path}): nothing registered"
            ) from err
    try:
        yield
    finally:
        lock.release()


LOG_LOSS = "log_loss"

# A configuration's repeated-CV figure on the challenger's folds: the primary metric,
# or every metric's mean (then the log-loss check compares like for like too).
Rescore = Callable[[dict[str, Any]], float | dict[str, float]]


def metric_key(primary_metric: str) -> str:
    """The run metric the gate compares (the selected model's repeated-CV mean)."""
    return f"selected.cv_{primary_metric}"


def decide(
    challenger: float, champion: float | None, tolerance: float, primary_metric: str
) -> tuple[bool, str]:
    """Whether to promote the challenger, and why (pure: no MLflow).

    Args:
        challenger: The challenger's primary metric.
        champion: The champion's, or ``None`` when there is no champion yet.
        tolerance: How much worse (absolute) the challenger may be and still win.
        primary_metric: The metric's name (lower is better for ``log_loss``).

    Returns:
        ``(promote, reason)``.
    """
    if champion is None:
        return True, "first registered model: becomes champion"
    sign = -1.0 if primary_metric in LOWER_IS_BETTER else 1.0
    gain = sign * (challenger - champion)
    verdict = "not worse" if gain >= -tolerance else "worse"
    reason = (
        f"challenger {primary_metric} {challenger:.4f} vs champion {champion:.4f}: "
        f"{verdict} than the tolerance {tolerance}"
    )
    return gain >= -tolerance, reason


def decide_log_loss(
    challenger: float | None, champion: float | None, tolerance: float | None
) -> tuple[bool, str]:
    """Whether the challenger's probabilities are not worse than the champion's.

    Args:
        challenger: The challenger's repeated-CV log loss.
        champion: The champion's (re-scored or recorded), ``None`` when unknown.
        tolerance: How much higher (worse) the challenger's log loss may be;
            ``None`` disables the check.

    Returns:
        ``(passes, reason)``; an unknown figure or no tolerance passes, and says so.
    """
    if tolerance is None:
        return True, ""
    if challenger is None or champion is None:
        return True, "log loss not compared (a figure is missing)"
    passes = challenger - champion <= tolerance
    verdict = "within" if passes else "worse than"
    return passes, (
        f"challenger log_loss {challenger:.4f} vs champion {champion:.4f}: "
        f"{verdict} the tolerance {tolerance}"
    )


def _version_with_alias(client: MlflowClient, name: str, alias: str):
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def _logged_model_id(client: MlflowClient, run_id: str) -> str:
    run = client.get_run(run_id)
    models = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run_id}'",
        output_format="list",
    )
    if not models:
        raise RuntimeError(f"run {run_id} logged no model: nothing to register")
    return models[0].model_id


def _champion_score(
    client: MlflowClient, run_id: str, key: str, rescore: Rescore | None
) -> tuple[float | None, float | None, str, dict[str, float]]:
    """The champion's figure to compare, its recorded figure, how it was measured,
    and its other figures (re-scored when the re-score gives them, else recorded)."""
    metrics = client.get_run(run_id).data.metrics
    recorded = metrics.get(key)
    others = {LOG_LOSS: metrics.get(metric_key(LOG_LOSS))}
    if rescore is None:
        return recorded, recorded, "recorded figures (no re-scoring asked)", others
    if CONFIG_ARTIFACT not in {a.path for a in client.list_artifacts(run_id)}:
        return (
            recorded,
            recorded,
            f"recorded figures: the champion logged no {CONFIG_ARTIFACT}",
            others,
        )
    try:
        configuration = mlflow.artifacts.load_dict(f"runs:/{run_id}/{CONFIG_ARTIFACT}")
        scored = rescore(configuration)
        if isinstance(scored, dict):
            primary = key.removeprefix(metric_key(""))
            return float(scored[primary]), recorded, SAME_FOLDS, dict(scored)
        return float(scored), recorded, SAME_FOLDS, others
    except Exception as error:  # noqa: BLE001 - any failure falls back, and says why
        logger.warning("Registry: champion not re-scored", exc_info=True)
        why = f"{type(error).__name__}: {error}".splitlines()[0][:200]
        return (
            recorded,
            recorded,
            f"recorded figures: the champion's configuration could not be re-scored ({why})",
            others,
        )


def register_and_gate(
    client: MlflowClient,
    run_id: str,
    model_name: str,
    primary_metric: str,
    tolerance: float,
    rescore: Rescore | None = None,
    log_loss_tolerance: float | None = None,
) -> dict[str, Any]:
    """Register the run's model as ``challenger`` and apply the promotion gate.

    Holds the store's gate lock throughout (``gate_lock``), so the champion it
    compares with is still the champion when it moves the alias.

    Args:
        client: MLflow client on the tracking/registry store.
        run_id: The training run (it logged the model and ``selected.cv_<metric>``).
        model_name: Registered model name.
        primary_metric: Metric compared (from ``modelling.selection``).
        tolerance: How much worse (absolute) the challenger may be and still win.
        rescore: Scores a configuration (the champion's ``model_selected_config``)
            on the challenger's development folds; ``None`` compares the recorded
            figures as they are.
        log_loss_tolerance: Also refuse a challenger whose repeated-CV log loss is
            higher than the champion's by more than this (``None``: not checked).

    Returns:
        The decision: versions, both figures (and the champion's recorded one), how
        they were compared, ``promoted`` and the reason.
    """
    with gate_lock(client.tracking_uri):
        return _register_and_gate(
            client,
            run_id,
            model_name,
            primary_metric,
            tolerance,
            rescore,
            log_loss_tolerance,
        )


def _register_and_gate(
    client: MlflowClient,
    run_id: str,
    model_name: str,
    primary_metric: str,
    tolerance: float,
    rescore: Rescore | None,
    log_loss_tolerance: float | None,
) -> dict[str, Any]:
    key = metric_key(primary_metric)
    challenger_metrics = client.get_run(run_id).data.metrics
    challenger_score = challenger_metrics[key]
    champion = _version_with_alias(client, model_name, CHAMPION)
    champion_score, champion_recorded, comparison, champion_others = (
        _champion_score(client, champion.run_id, key, rescore)
        if champion
        else (None, None, "no champion yet", {})
    )
    version = mlflow.register_model(
        f"models:/{_logged_model_id(client, run_id)}", model_name
    )
    client.set_registered_model_alias(model_name, CHALLENGER, version.version)
    promote, reason = decide(
        challenger_score, champion_score, tolerance, primary_metric
    )
    challenger_log_loss = challenger_metrics.get(metric_key(LOG_LOSS))
    champion_log_loss = champion_others.get(LOG_LOSS)
    if champion:
        calibrated, why = decide_log_loss(
            challenger_log_loss, champion_log_loss, log_loss_tolerance
        )
        promote = promote and calibrated
        reason = "; ".join(part for part in (reason, why, comparison) if part)
    decision = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_name": model_name,
        "metric": key,
        "tolerance": tolerance,
        "challenger_version": int(version.version),
        "challenger_run_id": run_id,
        "challenger_score": challenger_score,
        "champion_version": int(champion.version) if champion else None,
        "champion_score": champion_score,
        "champion_recorded_score": champion_recorded,
        "comparison": comparison,
        "log_loss_tolerance": log_loss_tolerance,
        "challenger_log_loss": challenger_log_loss,
        "champion_log_loss": champion_log_loss,
        "promoted": promote,
        "reason": reason,
    }
    if promote:
        if champion:
            client.set_model_version_tag(
                model_name, version.version, PREVIOUS_CHAMPION_TAG, champion.version
            )
        client.set_registered_model_alias(model_name, CHAMPION, version.version)
    _tag(client, decision)
    logger.info(
        "Registry: %s v%s %s (%s)",
        model_name,
        version.version,
        "promoted to champion" if promote else "kept as challenger",
        reason,
    )
    return decision


def _tag(client: MlflowClient, decision: dict[str, Any]) -> None:
    tags = {
        "promotion.decision": "promoted" if decision["promoted"] else "rejected",
        "promotion.reason": decision["reason"],
        "promotion.challenger_score": str(decision["challenger_score"]),
        "promotion.champion_score": str(decision["champion_score"]),
        "promotion.champion_version": str(decision["champion_version"]),
        "promotion.comparison": decision["comparison"],
    }
    for key, value in tags.items():
        client.set_tag(decision["challenger_run_id"], key, value)
        client.set_model_version_tag(
            decision["model_name"], decision["challenger_version"], key, value
        )


def rollback(client: MlflowClient, model_name: str) -> dict[str, Any]:
    """Give the ``champion`` alias back to the version it replaced.

    Args:
        client: MLflow client on the registry.
        model_name: Registered model name.

    Returns:
        ``{"from_version": ..., "to_version": ...}``.

    Raises:
        RuntimeError: There is no champion, or it replaced no earlier champion.
    """
    with gate_lock(client.tracking_uri):
        return _rollback(client, model_name)


def _rollback(client: MlflowClient, model_name: str) -> dict[str, Any]:
    champion = _version_with_alias(client, model_name, CHAMPION)
    if champion is None:
        raise RuntimeError(f"{model_name} has no champion to roll back")
    previous = champion.tags.get(PREVIOUS_CHAMPION_TAG)
    if not previous:
        raise RuntimeError(
            f"{model_name} v{champion.version} was the first champion: nothing to roll back to"
        )
    client.set_registered_model_alias(model_name, CHAMPION, previous)
    client.set_model_version_tag(model_name, champion.version, "rolled_back", "true")
    logger.info(
        "Rolled back %s champion: v%s -> v%s", model_name, champion.version, previous
    )
    return {"from_version": int(champion.version), "to_version": int(previous)}


def status(client: MlflowClient, model_name: str) -> dict[str, Any]:
    """The versions holding the ``champion`` and ``challenger`` aliases."""
    result = {}
    for alias in (CHAMPION, CHALLENGER):
        version = _version_with_alias(client, model_name, alias)
        result[alias] = (
            {"version": int(version.version), "run_id": version.run_id}
            if version
            else None
        )
    return result


def _registry_settings(env: str | None) -> tuple[str, str]:
    """Tracking URI and registered model name from the project's conf."""
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    project = find_project_root()
    bootstrap_project(project)
    with KedroSession.create(project_path=project, env=env) as session:
        context = session.load_context()  # kedro-mlflow sets the tracking URI here
        params = context.config_loader["parameters"]
        return mlflow.get_tracking_uri(), params["training"]["registry"]["model_name"]


def main(argv: list[str] | None = None) -> int:
    """``python -m student_performance.registry {status,rollback} [--env ENV]``."""
    parser = argparse.ArgumentParser(prog="python -m student_performance.registry")
    parser.add_argument("command", choices=["status", "rollback"])
    parser.add_argument("--env", default=None, help="Kedro conf environment")
    args = parser.parse_args(argv)
    uri, model_name = _registry_settings(args.env)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        result = (
            rollback(client, model_name)
            if args.command == "rollback"
            else status(client, model_name)
        )
    except RuntimeError as err:
        sys.stderr.write(f"{err}\n")
        return 1
    sys.stdout.write(json.dumps({"model_name": model_name, **result}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
