"""The prediction log's table and rows: columns, the row of each answered record,
the database engine, the idempotent insert.

One row per predicted record: request id, time, model, the inputs as received and as
cleaned (JSON), one text column per feature holding the value exactly as received (so
that drift monitoring can read the log as a raw batch, see ``conf/served``), the
predicted class, the probabilities (JSON), the request's latency and ``log_key``, the
row's own unique key. Inserts skip a row whose ``log_key`` is in the table already
(``ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite), so a replayed batch is never
written twice.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

FIXED_COLUMNS = (
    "id",
    "request_id",
    "logged_at",
    "endpoint",
    "model_name",
    "model_version",
    "inputs_raw",
    "inputs_clean",
    "prediction",
    "probabilities",
    "latency_ms",
    "log_key",
    "prediction_set",
)
# Columns added after the first release: added to an older table at start-up, with
# their SQL type there (the features are TEXT).
ADDED_COLUMNS = {"log_key": "VARCHAR(32)", "prediction_set": "TEXT"}
# errors about the rows themselves, not the database's availability
ROW_ERRORS = (sa_exc.IntegrityError, sa_exc.DataError)
_PG_CONNECT_TIMEOUT_S = 5  # an unreachable host must not hold the writer for minutes


def json_safe(value: Any) -> Any:
    """JSON data without NaN or infinities (they become their ``repr``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def _has_float(record: dict[str, Any]) -> bool:
    return any(type(value) is float for value in record.values())


def _raw_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return repr(value)


@dataclass(frozen=True)
class LogEntry:
    """One answered request, as the handler hands it over (rows are built later).

    Attributes:
        logged_at: When the request was answered (UTC).
        endpoint: ``predict`` or ``batch``.
        model_name: Registered model name.
        model_version: Registered version.
        request_ids: One per record.
        payloads: The records as received (JSON objects).
        keys: Every accepted request key to its feature name.
        features: Feature names, schema order.
        values: The cleaned values per record, schema order.
        classes: Class names, in the probabilities' order.
        labels: Predicted class per record.
        probabilities: Rows x classes.
        latency_ms: The request's time until its answer was ready.
        sets: Each record's prediction set (classes in order, joined by ``|``), or
            ``None`` when the model has no set calibration.
    """

    logged_at: datetime
    endpoint: str
    model_name: str
    model_version: str
    request_ids: list[str]
    payloads: list[dict[str, Any]]
    keys: dict[str, str]
    features: list[str]
    values: list[tuple]
    classes: list[str]
    labels: list[str]
    probabilities: list[list[float]]
    latency_ms: float
    sets: list[str] | None = None

    def rows(self) -> list[dict[str, Any]]:
        """One table row per record."""
        rows = []
        sets = self.sets or [None] * len(self.labels)
        for request_id, payload, values, label, probabilities, members in zip(
            self.request_ids,
            self.payloads,
            self.values,
            self.labels,
            self.probabilities,
            sets,
            strict=True,
        ):
            received = {self.keys[k]: v for k, v in payload.items()}
            cleaned = dict(zip(self.features, values, strict=True))
            rows.append(
                {
                    "request_id": request_id,
                    "logged_at": self.logged_at,
                    "endpoint": self.endpoint,
                    "model_name": self.model_name,
                    "model_version": self.model_version,
                    "inputs_raw": json_safe(payload)
                    if _has_float(payload)
                    else payload,
                    "inputs_clean": json_safe(cleaned)
                    if _has_float(cleaned)
                    else cleaned,
                    **{f: _raw_text(received.get(f)) for f in self.features},
                    "prediction": label,
                    "probabilities": dict(
                        zip(self.classes, probabilities, strict=True)
                    ),
                    "latency_ms": self.latency_ms,
                    "prediction_set": members,
                }
            )
        return rows


def log_table(name: str, features: Iterable[str], metadata: MetaData) -> Table:
    """The prediction log's table.

    Args:
        name: Table name.
        features: Feature names: one nullable text column each (raw value received).
        metadata: SQLAlchemy metadata to attach the table to.

    Returns:
        The table.

    Raises:
        ValueError: A feature is named like one of the fixed columns.
    """
    features = list(features)
    clash = sorted(set(features) & set(FIXED_COLUMNS))
    if clash:
        raise ValueError(f"features named like prediction-log columns: {clash}")
    return Table(
        name,
        metadata,
        Column(
            "id",
            BigInteger().with_variant(Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        Column("request_id", String(100), nullable=False, index=True),
        Column("logged_at", DateTime(timezone=True), nullable=False, index=True),
        Column("endpoint", String(32), nullable=False),
        Column("model_name", String(200), nullable=False),
        Column("model_version", String(32), nullable=False),
        Column("inputs_raw", JSON, nullable=False),
        Column("inputs_clean", JSON, nullable=False),
        *[Column(feature, Text, nullable=True) for feature in features],
        Column("prediction", String(200), nullable=False),
        Column("probabilities", JSON, nullable=False),
        Column("latency_ms", Float, nullable=False),
        # nullable only for rows of tables made before the column existed
        Column("log_key", String(32), nullable=True),
        Index(f"ux_{name}_log_key", "log_key", unique=True),
        Column("prediction_set", Text, nullable=True),
    )


def _dumps(value: Any) -> str:
    """JSON columns by orjson (about 8x faster than ``json.dumps`` on log rows)."""
    return orjson.dumps(value).decode()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL: drift monitoring can read the log while the service writes it."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, write_timeout_s: float | None = None) -> Engine:
    """A SQLAlchemy engine for the log (SQLite: folder created, WAL journal).

    PostgreSQL: a connection attempt gives up after a few seconds, and with
    ``write_timeout_s`` a statement (an INSERT waiting for a lock, a server too busy)
    is cancelled after that long, so a slow database sends rows to the spool instead
    of holding the writer.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.database:
        from pathlib import Path  # noqa: PLC0415

        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        connect_args["connect_timeout"] = _PG_CONNECT_TIMEOUT_S
        if write_timeout_s:
            connect_args["options"] = (
                f"-c statement_timeout={max(1, round(write_timeout_s * 1000))}"
            )
    engine = create_engine(
        url, pool_pre_ping=True, json_serializer=_dumps, connect_args=connect_args
    )
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def redact(url: str) -> str:
    """The URL with its password hidden, for logs and ``/health``."""
    return make_url(url).render_as_string(hide_password=True)


def keyed_rows(seq: int, entry: LogEntry) -> list[tuple[int, dict[str, Any]]]:
    """The entry's rows with their sequence numbers and unique keys."""
    return [
        (seq + i, row | {"log_key": uuid.uuid4().hex})
        for i, row in enumerate(entry.rows())
    ]


def idempotent_insert(table: Table, dialect: str) -> Any:
    """INSERT that skips a row whose ``log_key`` is in the table already.

    Other databases than PostgreSQL and SQLite get a plain INSERT: a batch committed
    just before its connection broke could then be written twice by a replay.
    """
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # noqa: PLC0415
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # noqa: PLC0415
    else:
        return table.insert()
    return insert(table).on_conflict_do_nothing(index_elements=["log_key"])


def short(err: Exception) -> str:
    return str(err).splitlines()[0][:300] if str(err) else type(err).__name__
