"""The prediction log: every answered record, written to a database off the hot path.

One row per predicted record: request id, time, model, the inputs as received and as
cleaned (JSON), one text column per feature holding the value exactly as received (so
that drift monitoring can read the log as a raw batch, see ``conf/served``), the
predicted class, the probabilities (JSON) and the request's latency.

Requests only put rows on a bounded queue; one background thread inserts them in
batches (``batch_size`` rows, or what arrived within ``flush_interval_s``) through
SQLAlchemy, so a slow database never slows an answer. A full queue drops rows and
counts them rather than blocking. ``close`` writes what is queued before returning.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
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
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    text,
)
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
    "prediction_set",
)
# Columns added after the first release: added to an older table at start-up (TEXT).
_ADDED_COLUMNS = ("prediction_set",)
_STOP = object()
_RETRY_PAUSE_S = 0.5


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


def make_engine(url: str) -> Engine:
    """A SQLAlchemy engine for the log (SQLite: folder created, WAL journal)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        from pathlib import Path  # noqa: PLC0415

        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True, json_serializer=_dumps)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def redact(url: str) -> str:
    """The URL with its password hidden, for logs and ``/health``."""
    return make_url(url).render_as_string(hide_password=True)


class PredictionLog:
    """Batched, asynchronous inserts into the prediction-log table.

    Args:
        url: SQLAlchemy database URL.
        table: Table name (created if missing; missing feature columns are added).
        features: Feature names, in schema order.
        batch_size: Most rows per INSERT.
        flush_interval_s: How long a partial batch waits for more rows.
        queue_size: Requests that may wait; more are dropped (their rows counted).
    """

    def __init__(  # noqa: PLR0913 - settings, all named
        self,
        url: str,
        table: str,
        features: list[str],
        batch_size: int = 500,
        flush_interval_s: float = 0.2,
        queue_size: int = 100_000,
    ) -> None:
        self.url = url
        self.features = list(features)
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.engine = make_engine(url)
        self.table = log_table(table, self.features, MetaData())
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(
            target=self._run, name="prediction-log-writer", daemon=True
        )
        self._lock = threading.Lock()
        self.written = 0
        self.dropped = 0
        self.failed = 0
        self._last_drop_warning = 0.0

    def start(self) -> None:
        """Create the table if needed and start the writer thread."""
        self._ensure_table()
        self._thread.start()
        logger.info("Prediction log: %s, table %s", redact(self.url), self.table.name)

    def _ensure_table(self) -> None:
        self.table.metadata.create_all(self.engine)
        existing = {
            c["name"] for c in inspect(self.engine).get_columns(self.table.name)
        }
        missing = [f for f in [*self.features, *_ADDED_COLUMNS] if f not in existing]
        if not missing:
            return
        preparer = self.engine.dialect.identifier_preparer
        with self.engine.begin() as connection:
            for feature in missing:
                connection.execute(
                    text(
                        f"ALTER TABLE {preparer.format_table(self.table)} "
                        f"ADD COLUMN {preparer.quote(feature)} TEXT"
                    )
                )
        logger.info("Prediction log: added columns %s", missing)

    @property
    def pending(self) -> int:
        """Requests queued or being written."""
        return self._queue.unfinished_tasks

    def submit(self, entry: LogEntry) -> None:
        """Queue a request's rows; never blocks (a full queue drops and counts)."""
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            self._count_drop(len(entry.request_ids))

    def _count_drop(self, rows: int) -> None:
        with self._lock:
            self.dropped += rows
            now = time.monotonic()
            warn = now - self._last_drop_warning > 10  # noqa: PLR2004 - at most every 10 s
            if warn:
                self._last_drop_warning = now
        if warn:
            logger.warning(
                "Prediction log queue full: %d rows dropped so far", self.dropped
            )

    def _next_batch(self, first: LogEntry) -> tuple[list[LogEntry], bool]:
        batch, stop = [first], False
        size = len(first.request_ids)
        deadline = time.monotonic() + self.flush_interval_s
        while size < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                item = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if item is _STOP:
                self._queue.task_done()
                stop = True
                break
            batch.append(item)
            size += len(item.request_ids)
        return batch, stop

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is _STOP:
                self._queue.task_done()
                break
            batch, stop = self._next_batch(first)
            self._write([row for entry in batch for row in entry.rows()])
            for _ in batch:
                self._queue.task_done()
        self._drain()

    def _drain(self) -> None:
        """Write what is still queued (rows submitted while stopping)."""
        rest = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                rest.extend(item.rows())
            self._queue.task_done()
        for start in range(0, len(rest), self.batch_size):
            self._write(rest[start : start + self.batch_size])

    def _write(self, rows: list[dict[str, Any]]) -> None:
        for attempt in (1, 2):
            try:
                with self.engine.begin() as connection:
                    connection.execute(self.table.insert(), rows)
            except Exception:  # the writer must survive any database error
                logger.exception(
                    "Prediction log: writing %d rows failed (attempt %d)",
                    len(rows),
                    attempt,
                )
                time.sleep(_RETRY_PAUSE_S)
                continue
            self.written += len(rows)
            return
        self.failed += len(rows)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued row is written (or failed).

        Returns:
            ``True`` when nothing is pending any more, ``False`` on time-out.
        """
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, stop the thread and release the database."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.error(
                    "Prediction log: writer still busy after %.0f s; %d rows pending",
                    timeout,
                    self.pending,
                )
        logger.info(
            "Prediction log closed: %d rows written, %d dropped, %d failed",
            self.written,
            self.dropped,
            self.failed,
        )
        self.engine.dispose()
