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

One gate at a time per tracking store: the gate, and rollback, hold the store's file
lock (``student_performance.gate_lock``), so two trainings that finish together never
both promote against the same old champion; a run killed before the gate registers
nothing. The decision itself is pure (``student_performance.promotion``).

Rollback (the previous champion back, recorded on each promoted version)::

    python -m student_performance.registry rollback   # or: make rollback
    python -m student_performance.registry status

MLflow is used here, never in nodes: this runs from a hook and from the command line.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import mlflow
from click import ClickException
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from student_performance.gate_lock import gate_lock
from student_performance.paths import find_project_root
from student_performance.promotion import (
    LOG_LOSS,
    decide,
    decide_log_loss,
    decide_worst_group,
    metric_key,
)

logger = logging.getLogger(__name__)

CHAMPION, CHALLENGER = "champion", "challenger"
PREVIOUS_CHAMPION_TAG = "previous_champion_version"
CONFIG_ARTIFACT = "model_selected_config.json"
FEATURES_ARTIFACT = "model_features.json"  # the features the model was trained with
SAME_FOLDS = "champion's configuration re-scored on the challenger's folds"

# A configuration's repeated-CV figure on the challenger's folds: the primary metric,
# or every metric's mean (then the log-loss check compares like for like too).
Rescore = Callable[[dict[str, Any]], float | dict[str, float]]


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
        if FEATURES_ARTIFACT in {a.path for a in client.list_artifacts(run_id)}:
            uri = f"runs:/{run_id}/{FEATURES_ARTIFACT}"
            configuration["features"] = json.loads(mlflow.artifacts.load_text(uri))
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
    worst_group_tolerance: float | None = None,
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
        worst_group_tolerance: Also refuse a challenger whose lowest sensitive
            group's QWK or set coverage (its ``fairness.*`` metrics) is lower than
            the champion's lowest group's by more than this (``None``: not checked).

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
            (log_loss_tolerance, worst_group_tolerance),
        )


def _register_and_gate(
    client: MlflowClient,
    run_id: str,
    model_name: str,
    primary_metric: str,
    tolerance: float,
    rescore: Rescore | None,
    tolerances: tuple[float | None, float | None],
) -> dict[str, Any]:
    key = metric_key(primary_metric)
    log_loss_tolerance, worst_group_tolerance = tolerances
    challenger_metrics = client.get_run(run_id).data.metrics
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
    decision = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_name": model_name,
        "metric": key,
        "tolerance": tolerance,
        "challenger_version": int(version.version),
        "challenger_run_id": run_id,
        "challenger_score": challenger_metrics[key],
        "champion_version": int(champion.version) if champion else None,
        "champion_score": champion_score,
        "champion_recorded_score": champion_recorded,
        "comparison": comparison,
        "log_loss_tolerance": log_loss_tolerance,
        "challenger_log_loss": challenger_metrics.get(metric_key(LOG_LOSS)),
        "champion_log_loss": champion_others.get(LOG_LOSS),
        "worst_group_tolerance": worst_group_tolerance,
    }
    champion_metrics = client.get_run(champion.run_id).data.metrics if champion else {}
    fair, decision["worst_group_reason"] = decide_worst_group(
        challenger_metrics, champion_metrics, worst_group_tolerance
    )
    decision |= _verdict(decision, primary_metric, champion is not None, fair)
    _apply(client, decision, version.version, champion.version if champion else None)
    return decision


def _verdict(
    decision: dict[str, Any], primary_metric: str, has_champion: bool, fair: bool
) -> dict[str, Any]:
    """``promoted`` and ``reason``: the primary metric, then (against a champion)
    the log loss, the worst group (``fair``: it passed) and how the champion's
    figures were obtained."""
    promote, reason = decide(
        decision["challenger_score"],
        decision["champion_score"],
        decision["tolerance"],
        primary_metric,
    )
    if has_champion:
        calibrated, why = decide_log_loss(
            decision["challenger_log_loss"],
            decision["champion_log_loss"],
            decision["log_loss_tolerance"],
        )
        promote = promote and calibrated and fair
        parts = (reason, why, decision["worst_group_reason"], decision["comparison"])
        reason = "; ".join(part for part in parts if part)
    return {"promoted": promote, "reason": reason}


def _apply(
    client: MlflowClient,
    decision: dict[str, Any],
    version: str,
    champion_version: str | None,
) -> None:
    """Move the ``champion`` alias if promoted (recording the one it replaced), tag
    the run and the version with the decision, and log it."""
    model_name = decision["model_name"]
    if decision["promoted"]:
        if champion_version is not None:
            client.set_model_version_tag(
                model_name, version, PREVIOUS_CHAMPION_TAG, champion_version
            )
        client.set_registered_model_alias(model_name, CHAMPION, version)
    _tag(client, decision)
    logger.info(
        "Registry: %s v%s %s (%s)",
        model_name,
        version,
        "promoted to champion" if decision["promoted"] else "kept as challenger",
        decision["reason"],
    )


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
    try:
        uri, model_name = _registry_settings(args.env)
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        result = (
            rollback(client, model_name)
            if args.command == "rollback"
            else status(client, model_name)
        )
    except (RuntimeError, ClickException) as err:  # a missing setting: one line too
        sys.stderr.write(f"{err}\n")
        return 1
    sys.stdout.write(json.dumps({"model_name": model_name, **result}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
