"""The FastAPI service: the registry's champion behind /predict, with metrics and a log.

Endpoints: ``POST /predict`` (one record), ``POST /predict/batch`` (``{"records":
[...]}``), ``GET /health``, ``GET /model/info``, ``GET /metrics`` (Prometheus),
``POST /admin/reload`` (API key), ``GET /`` (a page to try the model), ``GET /docs``
(Swagger UI, served locally: ``docs``).

The model answering is one reference to an immutable ``ModelBundle``. A request reads
it once and uses that bundle to the end (validation, prediction, the names in the
answer and in the log), so a reload that swaps the reference mid-request never mixes
two models.

``create_app`` composes the parts: the answer models (``answers``), error answers
(``errors``), the body-size and metrics middleware (``middleware``) and the routes
(``routes``) around the shared ``ServiceState`` (``state``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from student_performance.serving.bundle import ModelBundle, load_bundle
from student_performance.serving.config import ServingParams
from student_performance.serving.dashboard import add_dashboard
from student_performance.serving.docs import add_docs, docs_url, swagger_ui_dir
from student_performance.serving.metrics import ServingMetrics
from student_performance.serving.middleware import RequestGuard
from student_performance.serving.prediction_log import (
    PredictionLog,
    make_prediction_log,
)
from student_performance.serving.routes import (
    STATIC_DIR,
    add_admin_routes,
    add_info_routes,
    add_prediction_routes,
)
from student_performance.serving.state import ServiceState

__all__ = ["ServiceState", "create_app"]


def create_app(
    settings: ServingParams,
    *,
    loader: Callable[[], ModelBundle] | None = None,
    prediction_log: PredictionLog | None = None,
) -> FastAPI:
    """Load the champion and build the service around it.

    Args:
        settings: The service's settings (``load_settings``).
        loader: Loads the model to serve (at start and on ``/admin/reload``); default:
            the registry's ``settings.alias`` of ``settings.model_name``.
        prediction_log: Where predictions are logged; default: the database of
            ``settings.prediction_log`` (started with the app, flushed at shutdown).

    Returns:
        The FastAPI app.

    Raises:
        ModelLoadError: No model to serve.
    """
    loader = loader or partial(
        load_bundle, settings.tracking_uri, settings.model_name, settings.alias
    )
    bundle = loader()
    log = prediction_log or make_prediction_log(settings, bundle.records.feature_names)
    metrics = ServingMetrics(lambda: log)
    metrics.set_model(bundle.name, bundle.version, bundle.alias, bundle.run_id)
    state = ServiceState(settings, bundle, loader, log, metrics)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.start()
        yield
        await anyio.to_thread.run_sync(log.close)

    assets = swagger_ui_dir()
    app = FastAPI(
        title="student-performance",
        summary="Predicts entrance-examination performance with the registry's "
        f"{settings.alias} of {settings.model_name}",
        version=bundle.version,
        lifespan=lifespan,
        docs_url=docs_url(assets),
    )
    app.state.service = state
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    add_docs(app, assets)
    add_prediction_routes(app, state)
    add_info_routes(app, state)
    add_admin_routes(app, state)
    add_dashboard(app, state)
    app.add_middleware(
        RequestGuard,
        metrics=metrics,
        max_body_bytes=settings.limits.max_body_bytes,
        paths=frozenset(getattr(r, "path", "") for r in app.routes),
    )
    return app
