"""The service's routes: prediction (one answer path for a record and a batch), the
page, health, model info, metrics and the admin reload.

Request bodies are read and validated here (not by FastAPI's parameter machinery)
because the record model belongs to the bundle: a reloaded champion with another
schema is validated with its own. A request reads ``state.bundle`` once and uses that
bundle to the end, so a reload mid-request never mixes two models.
"""

from __future__ import annotations

import hmac
import logging
import random
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from student_performance.serving.answers import (
    BatchAnswer,
    ErrorAnswer,
    FastJSONResponse,
    PredictionAnswer,
    prediction_body,
)
from student_performance.serving.bundle import ModelBundle
from student_performance.serving.errors import (
    PREDICTION_ERRORS,
    InvalidRequestError,
    batch_records,
    error_response,
    parse_json,
    validate_records,
)
from student_performance.serving.log_table import LogEntry
from student_performance.serving.records import shorten
from student_performance.serving.state import ServiceState

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


# --- prediction ----------------------------------------------------------------------
def _request_id(request: Request) -> str:
    """The caller's ``X-Request-Id`` when well-formed, else 32 random hex digits.

    From ``random`` (seeded from the OS at start and again in a forked child), not
    ``uuid4``: an id names a request, it guards nothing, and ``os.urandom`` costs
    tens of microseconds per call on some machines.
    """
    given = request.headers.get("x-request-id", "")
    return given if _REQUEST_ID.match(given) else f"{random.getrandbits(128):032x}"


def _predict(
    bundle: ModelBundle, payloads: list[Any], batch: bool
) -> tuple[list[tuple], list[str], Any, list[list[int]]]:
    records = bundle.records
    # Plain records (known fields, allowed strings) skip the Pydantic model; any
    # other makes the whole request go through it, which answers or names the errors.
    encoded = [records.encode_plain(payload) for payload in payloads]
    if None in encoded:
        encoded = [
            records.encode(record)
            for record in validate_records(payloads, records, batch)
        ]
    rows = [values for values, _ in encoded]
    codes = [record_codes for _, record_codes in encoded]
    labels, proba = bundle.predictor.predict_values(rows, codes)
    return rows, labels, proba, codes


def _log_entry(  # noqa: PLR0913 - the parts of one answered request
    bundle: ModelBundle,
    endpoint: str,
    received: tuple[list[str], list[dict[str, Any]], list[tuple]],
    labels: list[str],
    probabilities: list[list[float]],
    latency_ms: float,
    sets: list[list[str]] | None = None,
) -> LogEntry:
    request_ids, payloads, values = received
    return LogEntry(
        logged_at=datetime.now(UTC),
        endpoint=endpoint,
        model_name=bundle.name,
        model_version=bundle.version,
        request_ids=request_ids,
        payloads=payloads,
        keys=bundle.records.by_key,
        features=bundle.records.feature_names,
        values=values,
        classes=bundle.predictor.classes,
        labels=labels,
        probabilities=probabilities,
        latency_ms=latency_ms,
        sets=None if sets is None else ["|".join(members) for members in sets],
    )


async def answer_predictions(
    request: Request, state: ServiceState, *, batch: bool
) -> Response:
    """The one answer path of ``/predict`` (``batch=False``) and ``/predict/batch``.

    Reads and validates the body, predicts with this request's bundle, counts and logs
    the predictions, and answers (a 422 naming every problem when the body is invalid).
    The answer holds each record's prediction set when the model has a set calibration,
    and (``?explain=true``) each record's feature contributions.
    """
    start = time.perf_counter()
    bundle = state.bundle  # this request's model, whatever a reload does
    request_id = _request_id(request)
    try:
        payload = parse_json(await request.body())
        payloads = (
            batch_records(payload, state.settings.limits.max_batch_records)
            if batch
            else [payload]
        )
        rows, labels, proba, codes = _predict(bundle, payloads, batch)
    except InvalidRequestError as err:
        return error_response(422, err.detail, {"X-Request-Id": request_id})
    predictor = bundle.predictor
    sets = predictor.prediction_sets(proba, labels)
    latency_ms = (time.perf_counter() - start) * 1000
    ids = [f"{request_id}-{i}" for i in range(len(payloads))] if batch else [request_id]
    probabilities = proba.tolist()
    state.metrics.count_predictions(bundle.version, labels)
    if sets is not None:
        state.metrics.observe_set_sizes(bundle.version, [len(s) for s in sets])
    state.prediction_log.submit(
        _log_entry(
            bundle,
            "batch" if batch else "predict",
            (ids, payloads, rows),
            labels,
            probabilities,
            latency_ms,
            sets,
        )
    )
    body = prediction_body(
        request_id,
        (bundle.name, bundle.version),
        predictor.classes,
        ids,
        labels,
        probabilities,
        batch=batch,
        sets=sets,
        set_level=predictor.set_level,
        explanations=_explanations(request, bundle, codes, labels),
    )
    return FastJSONResponse(
        body, headers={"X-Request-Id": request_id, "X-Model-Version": bundle.version}
    )


def _explanations(
    request: Request, bundle: ModelBundle, codes: list[list[int]], labels: list[str]
) -> list[dict[str, Any] | None] | None:
    """Per record, its ``explanation`` for ``?explain=true`` (``None`` for each when
    the model has none); ``None`` when not asked for."""
    if not request.scope.get("query_string") or request.query_params.get(
        "explain", ""
    ).lower() not in {"true", "1", "yes"}:
        return None
    predictor = bundle.predictor
    rows = predictor.explain_codes(codes, labels)
    if rows is None:
        return [None] * len(labels)
    units = predictor.explanation_units
    return [{"units": units, "contributions": row} for row in rows]


def _record_openapi(bundle: ModelBundle, limit: int) -> tuple[dict, dict]:
    record = bundle.records.model.model_json_schema(by_alias=True)
    batch = {
        "type": "object",
        "required": ["records"],
        "additionalProperties": False,
        "properties": {
            "records": {
                "type": "array",
                "items": record,
                "minItems": 1,
                "maxItems": limit,
            }
        },
    }

    def body(schema: dict) -> dict:
        content = {"application/json": {"schema": schema}}
        return {"requestBody": {"required": True, "content": content}}

    return body(record), body(batch)


def add_prediction_routes(app: FastAPI, state: ServiceState) -> None:
    """``POST /predict`` and ``POST /predict/batch``."""
    limit = state.settings.limits.max_batch_records
    single_body, batch_body = _record_openapi(state.bundle, limit)

    @app.post(
        "/predict",
        response_model=PredictionAnswer,
        responses=PREDICTION_ERRORS,
        openapi_extra=single_body,
        summary="Predict one record",
    )
    async def predict(request: Request) -> Response:
        return await answer_predictions(request, state, batch=False)

    @app.post(
        "/predict/batch",
        response_model=BatchAnswer,
        responses=PREDICTION_ERRORS,
        openapi_extra=batch_body,
        summary=f"Predict a list of records (at most {limit})",
    )
    async def predict_batch(request: Request) -> Response:
        return await answer_predictions(request, state, batch=True)


# --- information -----------------------------------------------------------------------
def add_info_routes(app: FastAPI, state: ServiceState) -> None:
    """``GET /`` (the page), ``/health``, ``/model/info`` and ``/metrics``."""

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/health", summary="Process alive, model loaded, model version")
    async def health() -> dict[str, Any]:
        bundle, log = state.bundle, state.prediction_log
        return {
            "status": "ok",
            "model_loaded": True,
            "model_name": bundle.name,
            "model_version": bundle.version,
            "alias": bundle.alias,
            "uptime_s": round(time.monotonic() - state.started, 1),
            "prediction_log": log.status(),
        }

    @app.get("/model/info", summary="The model answering: registry, run, schema")
    async def model_info() -> dict[str, Any]:
        limits = state.settings.limits
        return state.bundle.info() | {"limits": limits.model_dump()}

    @app.get("/metrics", summary="Prometheus metrics (text format)")
    async def metrics() -> Response:
        return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


# --- administration --------------------------------------------------------------------
def add_admin_routes(app: FastAPI, state: ServiceState) -> None:
    """``POST /admin/reload``: load the current champion (API key in the header)."""
    header = state.settings.admin.api_key_header

    @app.post(
        "/admin/reload",
        summary="Load the registry's current champion (API key in the header)",
        responses={401: {"model": ErrorAnswer}, 503: {"model": ErrorAnswer}},
    )
    async def reload(request: Request) -> Response:
        expected = state.settings.admin_api_key()
        given = request.headers.get(header, "")
        if not expected:
            return error_response(
                401,
                f"reloading is disabled: ${state.settings.admin.api_key_env} is not "
                "set on the server",
            )
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return error_response(401, f"a valid API key is required in {header}")
        async with state.reload_lock:
            return await _reload(state)


def _reload_failed(state: ServiceState, old: ModelBundle, err: Exception) -> Response:
    state.metrics.reloads.labels("failed").inc()
    logger.error("Reload failed, still serving %s v%s: %s", old.name, old.version, err)
    return JSONResponse(
        {
            "status": "reload_failed",
            "detail": shorten(str(err), 500),
            "model_name": old.name,
            "model_version": old.version,
        },
        status_code=503,
    )


async def _reload(state: ServiceState) -> JSONResponse:
    old, start = state.bundle, time.perf_counter()
    try:
        new = await anyio.to_thread.run_sync(state.loader)
        if new.records.feature_names != state.prediction_log.features:
            raise ValueError(
                f"v{new.version} has other features than the prediction log "
                f"({new.records.feature_names}): restart the service to serve it"
            )
    except Exception as err:  # a failed load must never take the service down
        return _reload_failed(state, old, err)
    state.bundle = new  # the atomic swap: one reference to an immutable bundle
    state.metrics.set_model(new.name, new.version, new.alias, new.run_id)
    state.metrics.reloads.labels("reloaded").inc()
    seconds = time.perf_counter() - start
    logger.info(
        "Reloaded %s: v%s -> v%s in %.1f s", new.name, old.version, new.version, seconds
    )
    return JSONResponse(
        {
            "status": "reloaded",
            "model_name": new.name,
            "model_version": new.version,
            "previous_version": old.version,
            "changed": new.version != old.version,
            "load_seconds": round(seconds, 3),
        }
    )
