"""Project hooks: a clear stop on a missing MLflow setting or batch input, the registry
gate after a training run, typed parameters logged key by key, and a closing summary."""

from __future__ import annotations

import logging
import re
from functools import partial
from typing import Any

import click
from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)

PROMOTION_DECISION = "rpt_promotion_decision"

# How to provide a variable the MLflow conf reads with no fallback (conf/prod).
_FIXES = {
    "MLFLOW_TRACKING_URI": (
        "start a tracking server (`make mlflow-server`) and "
        "`export MLFLOW_TRACKING_URI=http://127.0.0.1:5001`"
    ),
}
_MISSING = re.compile(r"Environment variable '(?P<name>[^']+)' not found")


class MissingEnvironmentVariableError(click.ClickException):
    """The conf names an environment variable that is not set.

    A ``click`` exception, so the ``kedro`` command prints its one-line message and
    exits with status 1 instead of a traceback; elsewhere it is raised as usual.
    """


class MlflowConfHook:
    """Stop before kedro-mlflow reads its conf when that conf needs an unset variable.

    ``--env prod`` takes ``server.mlflow_tracking_uri`` from ``MLFLOW_TRACKING_URI``
    with no fallback; ``tryfirst`` so that the missing variable is named, with the
    command that provides it, before kedro-mlflow's own hook fails on it. Any other
    problem with that conf (no ``mlflow.yml``, a resolver kedro-mlflow registers
    itself) is left to kedro-mlflow's hook, which reads the same conf next.
    """

    @hook_impl(tryfirst=True)
    def after_context_created(self, context: Any) -> None:
        try:
            context.config_loader["mlflow"]
        except Exception as error:  # noqa: BLE001 - kedro-mlflow's hook reports the rest
            missing = _MISSING.search(str(error))
            if missing is None:
                return
            name = missing["name"]
            fix = _FIXES.get(name, f"`export {name}=...`")
            key = getattr(error, "full_key", None)
            setting = f"the MLflow setting {key}" if key else "an MLflow setting"
            raise MissingEnvironmentVariableError(
                f"{name} is not set: --env {context.env} reads {setting} from it, "
                f"with no fallback. To fix: {fix}, then run the command again."
            ) from None


class MissingInputError(click.ClickException):
    """A batch input the run reads does not exist: one line, exit status 1."""


class BatchInputHook:
    """Stop before the first node when a batch input (file, glob or folder) is missing.

    Listing a batch's files reads no data, so every ``RawBatchDataset`` the pipeline
    reads is listed up front: a typo in ``--params batch_scoring.input=...`` is one
    line naming the path and what to do, not a chain of tracebacks from inside a node.
    """

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: Any, pipeline: Any, catalog: Any) -> None:
        from student_performance.batch import RawBatchDataset  # noqa: PLC0415
        from student_performance.datasets import RawDataError  # noqa: PLC0415

        for name in sorted(pipeline.inputs()):
            dataset = catalog.get(name) if name in catalog else None
            if not isinstance(dataset, RawBatchDataset):
                continue
            try:
                dataset.load()
            except RawDataError as error:
                raise MissingInputError(f"{name}: {error}") from None


def _is_training(pipeline: Any) -> bool:
    from kedro_mlflow.pipeline.pipeline_ml import PipelineML  # noqa: PLC0415

    return isinstance(pipeline, PipelineML)


class ModelRegistryHook:
    """Register the bundled model of a successful training run and apply the gate.

    ``trylast`` so that it runs after kedro-mlflow's own ``after_pipeline_run`` has
    logged the model. Nothing happens on a failed run (``after_pipeline_run`` is not
    called), so a failed or interrupted run never changes the champion.
    """

    def __init__(self) -> None:
        self._parameters: dict[str, Any] = {}

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        self._parameters = context.params  # conf and any --params from the command line

    @property
    def _registry(self) -> dict[str, Any] | None:
        return self._parameters.get("training", {}).get("registry")

    @property
    def _primary_metric(self) -> str | None:
        # Kedro hands the node-typed groups over as their Pydantic models
        # (SelectionParams, CVParams, DatasetSchema): trusted as they come.
        selection = self._parameters.get("modelling", {}).get("selection")
        return None if selection is None else selection.primary_metric

    def _rescore(self, catalog: Any, configuration: dict[str, Any]) -> dict[str, float]:
        """A configuration's CV means (every metric) on this run's development folds.

        Called by the gate only when there is a champion to re-score, so a first run
        loads nothing. On the features the champion was trained with (``features``,
        from its ``model_features.json``), else the schema's.
        """
        from student_performance.core.selection import (  # noqa: PLC0415
            configuration_cv_means,
        )
        from student_performance.schema import DatasetSchema  # noqa: PLC0415

        dataset = DatasetSchema.model_validate(self._parameters["dataset"])
        kept = configuration.pop("features", None)  # the champion's, if it logged them
        if kept is not None:
            dataset = dataset.without(
                [f for f in dataset.feature_names if f not in kept]
            )
        return configuration_cv_means(
            catalog.load("mi_development"),
            dataset,
            configuration,
            self._parameters["modelling"]["cv"],
        )

    @hook_impl(trylast=True)
    def after_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Any, catalog: Any
    ) -> None:
        if not (_is_training(pipeline) and self._registry and self._primary_metric):
            return
        import mlflow  # noqa: PLC0415 - loaded by kedro-mlflow already

        from student_performance.registry import register_and_gate  # noqa: PLC0415

        run_id = mlflow.last_active_run().info.run_id
        client = mlflow.MlflowClient()
        decision = register_and_gate(
            client,
            run_id,
            self._registry["model_name"],
            self._primary_metric,
            self._registry["tolerance"],
            rescore=partial(self._rescore, catalog),
            log_loss_tolerance=self._registry.get("log_loss_tolerance"),
            worst_group_tolerance=self._registry.get("worst_group_tolerance"),
        )
        catalog.save(PROMOTION_DECISION, decision)
        client.log_dict(run_id, decision, "promotion_decision.json")


class TypedParamsHook:
    """Log typed (Pydantic) parameters to MLflow one key per field.

    kedro-mlflow flattens dict parameters (``data_processing.quality.max_missing_share``)
    but logs a Pydantic model as one string; this logs the fields of any Pydantic
    parameter (``QualityParams``, the modelling groups of ``core/params.py``:
    ``modelling.cv.n_splits`` ...) under the same keys a dict would have, so runs
    stay searchable by parameter. ``trylast``: after
    kedro-mlflow has made the run active for the node.
    """

    @hook_impl(trylast=True)
    def before_node_run(self, node: Any, inputs: dict[str, Any]) -> None:
        from pydantic import BaseModel  # noqa: PLC0415 - only when a node runs

        typed = {
            name.removeprefix("params:"): value.model_dump(mode="json")
            for name, value in inputs.items()
            if name.startswith("params:") and isinstance(value, BaseModel)
        }
        if not typed:
            return
        import mlflow  # noqa: PLC0415 - loaded by kedro-mlflow already

        if mlflow.active_run() is not None:
            mlflow.log_params(_flatten(typed))


_MAX_PARAM_LENGTH = 6000  # MLflow refuses longer parameter values


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested fields as ``a.b.c`` keys; lists of records and over-long values left
    out (kedro-mlflow's own entry for the group still holds them)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        elif (
            not (isinstance(value, list) and any(isinstance(v, dict) for v in value))
            and len(str(value)) <= _MAX_PARAM_LENGTH
        ):
            flat[f"{prefix}{key}"] = value
    return flat


class RunSummaryHook:
    """Log where a run's outputs and its MLflow run are, as the last lines of a run."""

    @hook_impl(trylast=True)
    def after_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Any, catalog: Any
    ) -> None:
        names = run_params.get("pipeline_names") or ["__default__"]
        lines = [f"Run finished: pipelines {names}"]
        outputs = sorted(pipeline.all_outputs())
        if "rpt_data_quality" in outputs:
            report = catalog.load("rpt_data_quality")
            lines.append(
                f"  data: {report['rows_in']} rows in, {report['rows_kept']} kept, "
                f"{report['rows_quarantined']} quarantined {report['quarantined_by_reason']}"
            )
        if "rpt_selected_model_metrics" in outputs:
            selected = catalog.load("rpt_selected_model_metrics")
            metric = selected["primary_metric"]
            lines.append(
                f"  model: {selected['model']} {selected['params']}, {metric} "
                f"CV {selected['cv'][metric]:.3f} ± {selected['cv_std'][metric]:.3f}, "
                f"holdout {selected['holdout'][metric]:.3f}"
            )
        if _is_training(pipeline) and catalog.exists(PROMOTION_DECISION):
            decision = catalog.load(PROMOTION_DECISION)
            verdict = (
                "promoted to champion" if decision["promoted"] else "champion kept"
            )
            lines.append(
                f"  registry: {decision['model_name']} v{decision['challenger_version']} "
                f"{verdict} ({decision['reason']})"
            )
        paths = [_filepath(catalog, name) for name in outputs]
        lines += [f"  wrote {path}" for path in paths if path]
        lines.append("  " + _mlflow_line())
        logger.info("\n".join(lines))


def _filepath(catalog: Any, name: str) -> str | None:
    try:
        dataset = catalog.get(name)
    except Exception:  # noqa: BLE001 - a summary line is never worth failing a run
        return None
    wrapped = getattr(dataset, "_artifact_wrapped_dataset", None) or dataset
    path = getattr(wrapped, "_filepath", None)
    return str(path) if path else None


def _mlflow_line() -> str:
    import mlflow  # noqa: PLC0415 - kedro-mlflow has imported it already

    run = mlflow.last_active_run()
    if run is None:
        return "MLflow: no run recorded"
    return (
        f"MLflow: run {run.info.run_id} in {mlflow.get_tracking_uri()}"
        " - browse it with `make mlflow-ui`"
    )
