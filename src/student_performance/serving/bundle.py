"""Loading the registry's champion into an immutable bundle the service swaps whole.

The alias is resolved to a version first and that exact version is loaded
(``models:/<name>/<version>``): loading ``models:/<name>@champion`` and asking the
registry for the alias's version afterwards could name a version that did not answer,
if the alias moved in between.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from student_performance.model_parts import model_parts
from student_performance.serving.predictor import Predictor
from student_performance.serving.records import RecordSchema, build_record_schema

logger = logging.getLogger(__name__)

MODEL_CARD_ARTIFACT = "model_card.md"
GROUP_REPORT_ARTIFACT = "group_report.json"
RUN_METRIC_PREFIX = "selected."


class ModelLoadError(RuntimeError):
    """The registry has no such model or alias, or the model cannot be loaded."""


def _iso(millis: int | None) -> str | None:
    if millis is None:
        return None
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ModelBundle:
    """One loaded model version and everything needed to serve it; never mutated.

    Attributes:
        name: Registered model name.
        version: Registered version (as the registry spells it).
        alias: The alias it was loaded through.
        run_id: The training run.
        model_uri: What was loaded.
        predictor: Inference on validated records.
        records: The request record generated from the model's schema.
        run: Training run figures: ``metrics`` (``selected.*``), ``start_time``,
            ``end_time``.
        loaded_at: When this process loaded it (UTC, ISO 8601).
        load_seconds: How long loading took.
        pyfunc: The MLflow pyfunc model itself (the reference answer).
    """

    name: str
    version: str
    alias: str
    run_id: str | None
    model_uri: str
    predictor: Predictor
    records: RecordSchema
    run: dict[str, Any]
    loaded_at: str
    load_seconds: float
    pyfunc: Any = field(repr=False)
    model_card: str | None = field(default=None, repr=False)
    group_report: dict[str, Any] | None = field(default=None, repr=False)

    def info(self) -> dict[str, Any]:
        """What ``/model/info`` shows."""
        return {
            "name": self.name,
            "version": self.version,
            "alias": self.alias,
            "run_id": self.run_id,
            "model_uri": self.model_uri,
            "training": self.run,
            "loaded_at": self.loaded_at,
            "load_seconds": round(self.load_seconds, 3),
            "classes": self.predictor.classes,
            "decision_rule": self.predictor.decision_rule,
            "prediction_sets": _set_info(self.predictor.set_calibration),
            "model_card": self.model_card,
            "fairness": self.group_report,
            "fast_path": self.predictor.fast_path,
            "schema": self.records.describe(),
        }


def _set_info(calibration: dict[str, Any] | None) -> dict[str, Any] | None:
    if calibration is None:
        return None
    keys = ("level", "mode", "contiguous", "calibration_rows")
    return {key: calibration.get(key) for key in keys}


def _run_text(run_id: str | None, artifact: str) -> str | None:
    """A text artifact of the training run (the model card, the group report), or
    ``None``: older runs lack them, and a missing one never stops serving."""
    import mlflow  # noqa: PLC0415

    if not run_id:
        return None
    try:
        return mlflow.artifacts.load_text(f"runs:/{run_id}/{artifact}")
    except Exception:  # noqa: BLE001 - absent from older runs
        logger.info("No %s in run %s", artifact, run_id)
        return None


def _group_report(run_id: str | None) -> dict[str, Any] | None:
    """The figures per sensitive group (``/model/info``'s ``fairness``), or ``None``."""
    text = _run_text(run_id, GROUP_REPORT_ARTIFACT)
    return None if text is None else json.loads(text)


def _run_figures(client: Any, run_id: str | None) -> dict[str, Any]:
    if not run_id:
        return {"metrics": {}, "start_time": None, "end_time": None}
    run = client.get_run(run_id)
    metrics = {
        key: value
        for key, value in sorted(run.data.metrics.items())
        if key.startswith(RUN_METRIC_PREFIX)
    }
    return {
        "metrics": metrics,
        "start_time": _iso(run.info.start_time),
        "end_time": _iso(run.info.end_time),
    }


def _load_pyfunc(tracking_uri: str, model_uri: str) -> tuple[Any, Predictor]:
    """The MLflow model and the predictor of its parts.

    Raises:
        ModelLoadError: It cannot be loaded, or is not a kedro-mlflow pipeline model
            with the expected persisted inputs.
    """
    import mlflow  # noqa: PLC0415 - MLflow costs ~2.5 s to import: only when loading

    if mlflow.get_tracking_uri() != tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    if mlflow.get_registry_uri() != tracking_uri:
        mlflow.set_registry_uri(tracking_uri)
    try:
        pyfunc = mlflow.pyfunc.load_model(model_uri)
        model_selected, schema, sets = model_parts(pyfunc)
    except Exception as err:  # whatever the cause, the caller keeps its old model
        raise ModelLoadError(f"cannot load {model_uri}: {err}") from err
    return pyfunc, Predictor(model_selected, schema, set_calibration=sets)


def load_bundle(tracking_uri: str, model_name: str, alias: str) -> ModelBundle:
    """Load the version an alias points to, unwrap it, and build its predictor.

    Args:
        tracking_uri: MLflow tracking (and registry) URI.
        model_name: Registered model name.
        alias: Registry alias (``champion``).

    Returns:
        The bundle.

    Raises:
        ModelLoadError: No such model or alias, or the model is not a kedro-mlflow
            pipeline model with the expected persisted inputs.
    """
    from mlflow import MlflowClient  # noqa: PLC0415
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    start = time.perf_counter()
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        version = client.get_model_version_by_alias(model_name, alias)
    except MlflowException as err:
        raise ModelLoadError(
            f"no version of {model_name!r} has the alias {alias!r} in {tracking_uri}: "
            "train and register one first (make train)"
        ) from err
    model_uri = f"models:/{model_name}/{version.version}"
    pyfunc, predictor = _load_pyfunc(tracking_uri, model_uri)
    bundle = ModelBundle(
        name=model_name,
        version=str(version.version),
        alias=alias,
        run_id=version.run_id,
        model_uri=model_uri,
        predictor=predictor,
        records=build_record_schema(predictor.dataset),
        run=_run_figures(client, version.run_id),
        loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        load_seconds=time.perf_counter() - start,
        pyfunc=pyfunc,
        model_card=_run_text(version.run_id, MODEL_CARD_ARTIFACT),
        group_report=_group_report(version.run_id),
    )
    logger.info(
        "Loaded %s v%s (%s) in %.1f s, look-up encoding: %s",
        model_name,
        bundle.version,
        alias,
        bundle.load_seconds,
        predictor.fast_path,
    )
    return bundle
