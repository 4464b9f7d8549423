"""The service's settings, read from the project's conf (``parameters_serving.yml``).

The conf is read with Kedro's ``OmegaConfigLoader`` and the project's own loader
arguments (``conf_loader.CONFIG_LOADER_ARGS``), so ``--env`` overlays, ``oc.env`` and the
``project_root`` resolver work as in ``kedro run``, without starting a Kedro session.
Secrets (the admin API key, a database URL with a password) are never in conf: conf
names the environment variables that hold them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field

from student_performance.conf_loader import CONFIG_LOADER_ARGS
from student_performance.frozen import Frozen


class LimitsParams(Frozen):
    """Request size limits."""

    max_body_bytes: int = Field(1_048_576, ge=1024)
    max_batch_records: int = Field(1000, ge=1)


class AdminParams(Frozen):
    """Where the admin API key comes from."""

    api_key_header: str = "X-API-Key"
    api_key_env: str = "SERVING_ADMIN_API_KEY"


class SpoolParams(Frozen):
    """The prediction log's spool: rows waiting on local disk for the database."""

    path: str = "data/07_model_output/prediction_log_spool.sqlite"
    max_rows: int = Field(1_000_000, ge=1)
    retry_interval_s: float = Field(1.0, gt=0)


class PredictionLogParams(Frozen):
    """The prediction log: database, table, the background writer's batching, spool."""

    url_env: str = "PREDICTION_LOG_URL"
    sqlite_path: str = "data/07_model_output/prediction_log.sqlite"
    require_url: bool = False
    table: str = "prediction_log"
    batch_size: int = Field(500, ge=1)
    flush_interval_s: float = Field(0.2, gt=0)
    queue_size: int = Field(100_000, ge=1)
    write_timeout_s: float | None = Field(10.0, gt=0)
    spool: SpoolParams = SpoolParams()


class DashboardParams(Frozen):
    """``GET /dashboard``: refresh, rate window and the drift reports it shows."""

    refresh_s: float = Field(3.0, gt=0)
    window_s: float = Field(60.0, gt=0)
    # the drift pipelines' JSON reports (catalog: rpt_drift_report and
    # rpt_model_drift_report), relative to the project; the newer one is shown
    drift_reports: tuple[str, ...] = (
        "data/08_reporting/drift_report.json",
        "data/08_reporting/model_drift_report.json",
    )


class ServingParams(Frozen):
    """Everything the service needs, resolved (paths absolute, model name known)."""

    project_path: Path
    tracking_uri: str
    model_name: str
    alias: str = "champion"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    access_log: bool = False
    limits: LimitsParams = LimitsParams()
    admin: AdminParams = AdminParams()
    prediction_log: PredictionLogParams = PredictionLogParams()
    dashboard: DashboardParams = DashboardParams()

    def prediction_log_url(self, environ: dict[str, str] | None = None) -> str:
        """The prediction log's SQLAlchemy URL.

        Args:
            environ: Environment variables (``os.environ`` when ``None``).

        Returns:
            The URL from the variable named by ``prediction_log.url_env``, else the
            SQLite file ``prediction_log.sqlite_path`` (relative to the project).

        Raises:
            RuntimeError: ``require_url`` is set and the variable is empty or unset.
        """
        environ = os.environ if environ is None else environ
        log = self.prediction_log
        url = environ.get(log.url_env, "").strip()
        if url:
            return url
        if log.require_url:
            raise RuntimeError(
                f"the prediction log needs a database URL in ${log.url_env} "
                "(prediction_log.require_url is true in this conf environment)"
            )
        path = Path(log.sqlite_path)
        if not path.is_absolute():
            path = self.project_path / path
        return f"sqlite:///{path}"

    def spool_path(self) -> Path:
        """The spool file (``prediction_log.spool.path``, relative to the project)."""
        path = Path(self.prediction_log.spool.path)
        return path if path.is_absolute() else self.project_path / path

    def admin_api_key(self, environ: dict[str, str] | None = None) -> str | None:
        """The admin API key from the environment (``None`` when unset or empty)."""
        environ = os.environ if environ is None else environ
        return environ.get(self.admin.api_key_env) or None


def load_settings(
    project_path: str | Path, env: str | None = None, **overrides: Any
) -> ServingParams:
    """Read the ``serving`` block, the registered model name and the tracking URI.

    Args:
        project_path: The Kedro project (its ``conf/`` folder is read).
        env: Conf environment over ``base`` (Kedro's default run env when ``None``).
        **overrides: Top-level ``ServingParams`` fields to replace (e.g. ``port``).

    Returns:
        The validated settings.
    """
    from kedro.config import OmegaConfigLoader  # noqa: PLC0415 - keep imports cheap

    project = Path(project_path).resolve()
    loader = OmegaConfigLoader(
        conf_source=str(project / "conf"),
        env=env,
        **CONFIG_LOADER_ARGS,
    )
    params = loader["parameters"]
    mlflow_conf = loader["mlflow"]
    values = {
        **params.get("serving", {}),
        "project_path": project,
        "tracking_uri": mlflow_conf["server"]["mlflow_tracking_uri"],
        "model_name": params["training"]["registry"]["model_name"],
        **overrides,
    }
    return ServingParams.model_validate(values)
