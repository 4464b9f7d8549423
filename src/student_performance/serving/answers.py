"""The service's answers: their models (for OpenAPI) and how they are built and sent.

``/predict`` and ``/predict/batch`` answer through one builder, ``prediction_body``:
a single record's answer is a batch answer's first record with the model's names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class RecordPrediction(BaseModel):
    """One record's answer."""

    request_id: str
    prediction: str
    probabilities: dict[str, float]
    prediction_set: list[str] | None = None
    prediction_set_level: float | None = None


class Explanation(BaseModel):
    """``/predict?explain=true``: each feature's contribution, largest first."""

    units: str
    contributions: dict[str, float]


class PredictionAnswer(RecordPrediction):
    """``POST /predict``: the class, one probability per class, the model."""

    model_name: str
    model_version: str
    explanation: Explanation | None = None


class BatchRecordPrediction(RecordPrediction):
    """One record of a batch; ``/predict/batch?explain=true`` adds its explanation,
    as ``/predict?explain=true`` does for one record."""

    explanation: Explanation | None = None


class BatchAnswer(BaseModel):
    """``POST /predict/batch``: one answer per record, in order."""

    request_id: str
    model_name: str
    model_version: str
    count: int
    predictions: list[BatchRecordPrediction]


class ErrorAnswer(BaseModel):
    """An error: ``detail`` lists what is wrong (field, value, allowed values)."""

    detail: list[dict[str, Any]] | str


class FastJSONResponse(JSONResponse):
    """JSON by orjson: a batch answer of 1,000 records in ~0.2 ms instead of ~6 ms.

    Only for answers built here from strings and finite floats (probabilities).
    """

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def prediction_body(  # noqa: PLR0913 - the parts of one answer
    request_id: str,
    model: tuple[str, str],
    classes: Sequence[str],
    record_ids: Sequence[str],
    labels: Sequence[str],
    probabilities: Sequence[Sequence[float]],
    *,
    batch: bool,
    sets: Sequence[Sequence[str]] | None = None,
    set_level: float | None = None,
    explanations: Sequence[dict[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """The JSON body of a ``PredictionAnswer`` (``batch=False``) or ``BatchAnswer``.

    Args:
        request_id: The request's id.
        model: Name and version of the model that answered.
        classes: The target's classes, in the order of the probabilities.
        record_ids: One id per record (the request id for a single record).
        labels: The predicted class per record.
        probabilities: Per record, one probability per class.
        batch: Answer as ``/predict/batch`` (a list) or as ``/predict`` (one record).
        sets: Per record, its prediction set (classes in order); ``None`` when the
            model has no set calibration (the answer then has no set fields).
        set_level: The sets' coverage level.
        explanations: ``?explain=true``: per record, its ``explanation`` (units and
            contributions, or ``None`` when the model has none); ``None``: not asked
            for (the answer then has no ``explanation`` field).

    Returns:
        The answer, keys in the order of the answer models.
    """
    name, version = model
    head = {"request_id": request_id, "model_name": name, "model_version": version}
    records = [
        {
            "request_id": record_id,
            "prediction": label,
            "probabilities": dict(zip(classes, row, strict=True)),
        }
        for record_id, label, row in zip(record_ids, labels, probabilities, strict=True)
    ]
    if sets is not None:
        for record, members in zip(records, sets, strict=True):
            record["prediction_set"] = list(members)
            record["prediction_set_level"] = set_level
    if explanations is not None:
        for record, explanation in zip(records, explanations, strict=True):
            record["explanation"] = explanation
    if batch:
        return head | {"count": len(records), "predictions": records}
    only = records[0]
    only.pop("request_id")
    return head | only
