"""Project hooks: a closing summary of every run."""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)


class RunSummaryHook:
    """Log where a run's outputs and its MLflow run are, as the last lines of a run."""

    @hook_impl
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
