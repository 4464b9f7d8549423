"""Project hooks: quiet dependency warnings, and a closing summary of every run."""

from __future__ import annotations

import logging
import warnings
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)

# Known, harmless warnings raised by dependencies on every run; each is filtered by
# the module that raises it so that the project's own warnings still show.
_KNOWN_DEPENDENCY_WARNINGS = (
    (DeprecationWarning, r"mlflow(\..*)?"),
    (FutureWarning, r"mlflow(\..*)?"),
    (UserWarning, r"mlflow(\..*)?"),
    (DeprecationWarning, r"kedro_mlflow(\..*)?"),
    (DeprecationWarning, r"kedro_viz(\..*)?"),
    (DeprecationWarning, r"pydantic(\..*)?"),
    (FutureWarning, r"kedro_datasets(\..*)?"),
)


class QuietWarningsHook:
    """Filter the dependency warnings listed above once the context exists."""

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        for category, module in _KNOWN_DEPENDENCY_WARNINGS:
            warnings.filterwarnings("ignore", category=category, module=module)


class RunSummaryHook:
    """Log where a run's outputs and its MLflow run are, as the last lines of a run."""

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        lines = ["Run finished: pipelines %s" % (run_params.get("pipeline_names") or ["__default__"])]
        outputs = sorted(pipeline.outputs() | pipeline.all_outputs())
        if "rpt_data_quality" in outputs:
            report = catalog.load("rpt_data_quality")
            lines.append(
                "  data: %d rows in, %d kept, %d quarantined %s"
                % (
                    report["rows_in"],
                    report["rows_kept"],
                    report["rows_quarantined"],
                    report["quarantined_by_reason"],
                )
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
        f"MLflow: run {run.info.run_id} ({run.info.status}) in {mlflow.get_tracking_uri()}"
        " - browse it with `make mlflow-ui`"
    )
