"""Error answers: invalid JSON, records and batches become 422s that name the field,
the value and what is allowed; every error body is ``{"detail": ...}``."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from student_performance.serving.answers import ErrorAnswer
from student_performance.serving.log_table import json_safe
from student_performance.serving.records import RecordSchema, shorten

MAX_ERRORS = 50  # errors listed in one 422 answer

# The error answers of the prediction routes, as OpenAPI shows them.
PREDICTION_ERRORS = {
    413: {"model": ErrorAnswer, "description": "Body larger than the limit"},
    422: {"model": ErrorAnswer, "description": "Invalid JSON, field, value or type"},
}


class InvalidRequestError(Exception):
    """A request that cannot be answered: a 422 with these details."""

    def __init__(self, detail: list[dict[str, Any]]) -> None:
        super().__init__("invalid request")
        self.detail = detail


def error_response(
    status: int, detail: Any, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An error answer: ``{"detail": detail}`` with ``status``."""
    return JSONResponse(
        {"detail": json_safe(detail)}, status_code=status, headers=headers
    )


def _invalid(loc: list[str], kind: str, msg: str, **extra: Any) -> InvalidRequestError:
    return InvalidRequestError([{"loc": loc, "type": kind, "msg": msg, **extra}])


def parse_json(body: bytes) -> Any:
    """The request body as JSON.

    Raises:
        InvalidRequestError: The body is not JSON (or nested too deeply).
    """
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as err:
        reason = "nested too deeply" if isinstance(err, RecursionError) else err
        raise _invalid(
            ["body"], "json_invalid", f"the body is not valid JSON: {reason}"
        ) from None


def batch_records(payload: Any, limit: int) -> list[Any]:
    """The records of a ``/predict/batch`` body ``{"records": [...]}``.

    Raises:
        InvalidRequestError: Another shape, no records, or more than ``limit``.
    """
    if not isinstance(payload, dict) or set(payload) != {"records"}:
        raise _invalid(
            ["body"],
            "model_type",
            'the body must be {"records": [record, ...]}',
            value=shorten(payload),
        )
    records = payload["records"]
    if not isinstance(records, list) or not records:
        raise _invalid(
            ["body", "records"],
            "list_type",
            "records must be a non-empty list of records",
            value=shorten(records),
        )
    if len(records) > limit:
        raise _invalid(
            ["body", "records"],
            "too_long",
            f"at most {limit} records per batch "
            f"(serving.limits.max_batch_records), got {len(records)}",
            limit=limit,
            count=len(records),
        )
    return records


def _describe_error(error: dict[str, Any], records: RecordSchema, prefix: list) -> dict:
    loc = list(error.get("loc", ()))
    key = loc[0] if loc and isinstance(loc[0], str) else None
    value = shorten(error.get("input"))
    normaliser = records.normaliser(key) if key is not None else None
    item: dict[str, Any] = {"loc": ["body", *prefix, *loc], "type": error["type"]}
    if key is not None:
        item["field"] = normaliser.spec.name if normaliser else key
        item["value"] = value
    if error["type"] == "unknown_value":
        item["msg"] = error["ctx"]["reason"]
        item["allowed"] = error["ctx"]["allowed"]
    elif error["type"] == "extra_forbidden":
        item["msg"] = (
            f"unknown field {shorten(key)!r} (value {value!r}); the record's fields are "
            f"{records.feature_names}"
        )
        item["allowed"] = records.feature_names
    elif normaliser is not None:
        item["msg"] = (
            f"{normaliser.spec.name!r}: {error['msg']}, got {value!r}; "
            f"{normaliser.allowed()}, or null for missing"
        )
        item["allowed"] = normaliser.allowed_values()
    else:
        item["msg"] = (
            f"{error['msg']}: a record is a JSON object with the fields "
            f"{records.feature_names}"
        )
    return item


def validate_records(
    payloads: list[Any], records: RecordSchema, batch: bool
) -> list[BaseModel]:
    """Validate records (one: ``/predict``; a list: ``/predict/batch``).

    Raises:
        InvalidRequestError: The first ``MAX_ERRORS`` problems, each with its field,
            value and the allowed values.
    """
    try:
        if batch:
            return records.many.validate_python(payloads)
        return [records.model.model_validate(payloads[0])]
    except ValidationError as err:
        problems = []
        for error in err.errors(include_url=False)[:MAX_ERRORS]:
            loc = list(error["loc"])
            prefix = ["records", loc.pop(0)] if batch and loc else []
            error["loc"] = tuple(loc)
            problems.append(_describe_error(error, records, prefix))
        raise InvalidRequestError(problems) from None
