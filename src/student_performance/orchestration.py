"""What a scheduler's task calls: one ``kedro run`` in the task's own process.

The Airflow DAGs (``airflow/dags/``, generated from ``airflow/templates/``) run each task
through ``run_kedro`` so that the code is written once, in the package, and tested here
rather than copied into every generated DAG file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from student_performance.paths import PROJECT_HOME_ENV

logger = logging.getLogger(__name__)


def _decision(catalog: Any, run_id: str | None) -> dict[str, Any] | None:
    """The registry gate's decision when this run made it (a training run)."""
    if "rpt_promotion_decision" not in catalog:
        return None
    if not catalog.exists("rpt_promotion_decision"):
        return None
    decision = catalog.load("rpt_promotion_decision")
    if decision.get("challenger_run_id") != run_id:
        return None
    logger.info(
        "registry: %s v%s %s (%s)",
        decision["model_name"],
        decision["challenger_version"],
        "promoted to champion" if decision["promoted"] else "champion kept",
        decision["reason"],
    )
    return decision


def _close_reopened_runs(kept: str | None, failed: bool) -> None:
    """End the MLflow runs a ``kedro run`` leaves active in this thread.

    kedro-mlflow reopens the pipeline's run before every node (for threaded runners)
    and closes it once after the pipeline, so in a process that goes on afterwards (a
    scheduler's task, a test) the run would stay active and take the next run's
    logging. Each is ended with the status it has recorded; ``kept`` (a run that was
    active before) is left alone.
    """
    import mlflow  # noqa: PLC0415

    while (active := mlflow.active_run()) is not None and active.info.run_id != kept:
        recorded = mlflow.get_run(active.info.run_id).info.status
        if recorded == "RUNNING":
            recorded = "FAILED" if failed else "FINISHED"
        mlflow.end_run(recorded)


def _run_session(
    project_path: Path,
    pipeline_name: str,
    env: str,
    namespaces: list[str] | None,
    runtime_params: dict[str, str] | None,
) -> Any:
    """Run the pipeline in a Kedro session; the session's catalog, to read back.

    The MLflow runs the session leaves active are ended, failed or not.
    """
    import mlflow  # noqa: PLC0415
    from kedro.framework.session import KedroSession  # noqa: PLC0415

    before = mlflow.active_run()
    kept = before.info.run_id if before else None
    failed = True
    try:
        with KedroSession.create(
            project_path=project_path, env=env, runtime_params=runtime_params
        ) as session:
            session.run(pipeline_names=[pipeline_name], namespaces=namespaces)
            catalog = session.load_context().catalog
        failed = False
    finally:
        _close_reopened_runs(kept, failed)
    return catalog


def run_kedro(
    project_path: Path,
    pipeline_name: str,
    env: str,
    namespaces: list[str] | None = None,
    runtime_params: dict[str, str] | None = None,
    load: tuple[str, ...] = (),
) -> dict[str, Any]:
    """``kedro run --pipelines <pipeline_name> --env <env> [--namespaces ...]
    [--params ...]`` on the project at ``project_path``, in this process.

    Args:
        project_path: The Kedro project (conf/, data/, the default MLflow store).
        pipeline_name: A registered pipeline.
        env: The conf environment.
        namespaces: Run only these namespaces of the pipeline.
        runtime_params: ``--params`` as a mapping.
        load: Catalog entries to read back after the run.

    Returns:
        ``pipeline``, ``env``, ``mlflow_run_id`` and ``tracking_uri`` of the run it made,
        ``outputs`` (the ``load`` entries) and, after a training run, the registry's
        ``decision``.
    """
    import mlflow  # noqa: PLC0415 - a task process pays for it only when it runs
    from kedro.framework.project import configure_project  # noqa: PLC0415

    # the package reads the same variable (its `project_root` resolver)
    os.environ[PROJECT_HOME_ENV] = str(project_path)
    os.chdir(project_path)
    configure_project(__package__)
    logger.info(
        "kedro run --pipelines %s --env %s%s%s (project %s)",
        pipeline_name,
        env,
        f" --namespaces {','.join(namespaces)}" if namespaces else "",
        f" --params {runtime_params}" if runtime_params else "",
        project_path,
    )
    catalog = _run_session(project_path, pipeline_name, env, namespaces, runtime_params)
    run = mlflow.last_active_run()
    result: dict[str, Any] = {
        "pipeline": pipeline_name,
        "env": env,
        "mlflow_run_id": run.info.run_id if run else None,
        "tracking_uri": mlflow.get_tracking_uri(),
        "outputs": {name: catalog.load(name) for name in load},
    }
    decision = _decision(catalog, result["mlflow_run_id"])
    if decision is not None:
        result["decision"] = decision
    logger.info("MLflow run %s in %s", result["mlflow_run_id"], result["tracking_uri"])
    return result
