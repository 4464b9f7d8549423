"""Property-based fuzzing of the service's OpenAPI schema: no input gives a 5xx.

Bodies are generated from the published schema itself (``/openapi.json``): records with
the schema's allowed values in messy spellings, missing tokens, nulls, wrong JSON types,
unknown fields, arbitrary JSON, non-JSON bytes and NaN; every operation the schema lists
is called with them (in-process, errors surfaced as responses).
"""

from __future__ import annotations

import json
import logging
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

logger = logging.getLogger(__name__)

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
_MISSING = st.sampled_from(["", " ", "nan", " NAN ", "None", "?", "-", "n/a"])


def _messy(value: str) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [value, value.lower(), value.upper(), value.swapcase(), f"  {value} \t"]
    )


def _values(prop: dict) -> tuple[st.SearchStrategy, st.SearchStrategy]:
    """Values that fit a field (allowed, messy, missing) and values that may not."""
    allowed = prop.get("x-allowed")
    fitting = [st.none(), _MISSING]
    if isinstance(allowed, list) and allowed:
        fitting.insert(0, st.sampled_from(allowed).flatmap(_messy))
    good = st.one_of(*fitting)
    return good, st.one_of(good, st.text(max_size=20), _JSON)


def _record(schema: dict) -> st.SearchStrategy[dict]:
    """Records: all fields fitting, some fields anything, or unknown fields added."""
    values = {name: _values(p) for name, p in schema["properties"].items()}
    good = st.fixed_dictionaries({}, optional={n: v[0] for n, v in values.items()})
    mixed = st.fixed_dictionaries({}, optional={n: v[1] for n, v in values.items()})
    extra = st.dictionaries(st.text(max_size=12), _JSON, min_size=1, max_size=2)
    return st.one_of(
        good, mixed, st.tuples(good, extra).map(lambda pair: pair[0] | pair[1])
    )


def _body(schema: dict) -> st.SearchStrategy[bytes]:
    """Bodies for a request-body schema: mostly fitting it, some not at all."""
    if schema.get("properties", {}).get("records"):
        items = _record(schema["properties"]["records"]["items"])
        fitting = st.fixed_dictionaries({"records": st.lists(items, max_size=6)})
    else:
        fitting = _record(schema)
    as_json = st.one_of(fitting, fitting, fitting, _JSON).map(
        lambda value: json.dumps(value).encode()  # NaN/Infinity written as JSON allows
    )
    return st.one_of(as_json, st.binary(max_size=64))


@pytest.mark.slow
def test_no_input_causes_a_5xx(make_client):
    client = make_client()
    spec = client.get("/openapi.json").json()
    operations = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            operations.append((path, method, _body(schema) if schema else None))
    statuses: Counter[str] = Counter()

    @settings(
        max_examples=800,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def call(data: st.DataObject) -> None:
        path, method, bodies = data.draw(st.sampled_from(operations))
        body = data.draw(bodies) if bodies is not None else None
        response = client.request(
            method.upper(),
            path,
            content=body,
            headers={"content-type": "application/json"},
        )
        statuses[f"{method.upper()} {path} {response.status_code}"] += 1
        assert response.status_code < 500, (path, body, response.text)
        if path.startswith("/predict") and response.status_code == 422:  # noqa: PLR2004
            assert response.json()["detail"], "a 422 must say what is wrong"

    call()

    logger.info("Fuzzing: %d requests, %s", sum(statuses.values()), dict(statuses))
    assert any(key.endswith(" 200") and "/predict " in key for key in statuses)
    assert any(key.endswith(" 422") and "/predict " in key for key in statuses)
