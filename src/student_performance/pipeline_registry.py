"""Project pipelines."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# Not part of `kedro run` without --pipelines: `training` is the PipelineML that logs
# and registers the bundled model (adding it to another pipeline would turn it into a
# plain pipeline that logs no model), `modelling` alone is its model half, so that
# every registered model comes through `training`; `drift_monitoring` needs a batch
# (--params drift_batch=...) and `drift_monitoring_model` a batch and a trained model,
# neither of which a fresh clone has, nor does `batch_scoring` (a trained model and
# records to score). `drift_simulation` needs neither: it is in.
_NOT_IN_DEFAULT = {
    "training",
    "modelling",
    "drift_monitoring",
    "drift_monitoring_model",
    "batch_scoring",
}


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    ``find_pipelines(raise_errors=True)`` so that an import error fails loudly instead
    of silently dropping a pipeline.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(
        (p for name, p in pipelines.items() if name not in _NOT_IN_DEFAULT),
        Pipeline([]),
    )
    return pipelines
