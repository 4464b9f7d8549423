"""The prediction log: every answered record, written to a database off the hot path.

One row per predicted record: request id, time, model, the inputs as received and as
cleaned (JSON), one text column per feature holding the value exactly as received (so
that drift monitoring can read the log as a raw batch, see ``conf/served``), the
predicted class, the probabilities (JSON), the request's latency and ``log_key``, the
row's own unique key.

Requests only put rows on a bounded queue; one background thread inserts them in
batches (``batch_size`` rows, or what arrived within ``flush_interval_s``) through
SQLAlchemy, so a slow database never slows an answer. Nothing is dropped silently:

- a write the database refuses or cannot take (down, unreachable) goes to the spool
  (``spool.py``, an SQLite file on local disk); while the spool holds rows, new rows
  queue up behind them there, and the writer replays them in answer order every
  ``retry_interval_s`` until the database takes them;
- when the queue is full, the request's rows go straight to the spool;
- a spool left by a previous run (the database was down at shutdown, or the process
  was killed) is replayed first at start;
- rows are lost only when the spool is full (``max_rows``): counted, logged at
  WARNING and exported (``prediction_log_rows_lost_total``).

Replays are idempotent: the table has a unique index on ``log_key`` and rows are
inserted with ``ON CONFLICT DO NOTHING`` (PostgreSQL, SQLite), so a batch that was
committed just before its connection failed is not written twice. Tables made by
older versions get the column and the index at start (their old rows keep NULL).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

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
    inspect,
    text,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from student_performance.serving.spool import Spool

if TYPE_CHECKING:
    from student_performance.serving.config import ServingSettings

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
_ADDED_COLUMNS = {"log_key": "VARCHAR(32)", "prediction_set": "TEXT"}
_STOP = object()
_LOSS_WARNING_EVERY_S = 10  # at most one loss warning in this time (the first always)
# errors about the rows themselves, not the database's availability
_ROW_ERRORS = (sa_exc.IntegrityError, sa_exc.DataError)
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


class PredictionLog:
    """Batched, asynchronous inserts into the prediction-log table, with a spool.

    Args:
        url: SQLAlchemy database URL.
        table: Table name (created if missing; missing columns are added).
        features: Feature names, in schema order.
        batch_size: Most rows per INSERT.
        flush_interval_s: How long a partial batch waits for more rows.
        queue_size: Requests that may wait in memory; more go to the spool.
        spool: Where rows wait while the database cannot take them; ``None``: no
            spool, such rows are lost (counted).
        retry_interval_s: How often the spool is replayed while the database fails.
        write_timeout_s: PostgreSQL: a statement running longer is cancelled and its
            rows spooled (``None``: no limit).
    """

    def __init__(  # noqa: PLR0913 - settings, all named
        self,
        url: str,
        table: str,
        features: list[str],
        batch_size: int = 500,
        flush_interval_s: float = 0.2,
        queue_size: int = 100_000,
        spool: Spool | None = None,
        retry_interval_s: float = 1.0,
        write_timeout_s: float | None = None,
    ) -> None:
        self.url = url
        self.features = list(features)
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.retry_interval_s = retry_interval_s
        self.engine = make_engine(url, write_timeout_s)
        self.table = log_table(table, self.features, MetaData())
        self._columns = [c.name for c in self.table.columns if c.name != "id"]
        self._insert = _idempotent_insert(self.table, self.engine.dialect.name)
        self.spool = spool
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(
            target=self._run, name="prediction-log-writer", daemon=True
        )
        # held while a request's rows get their sequence numbers and are queued or
        # spooled, so that the writer can tell which spooled rows may be replayed
        self._submit_lock = threading.Lock()
        self._next_seq = (spool.last_seq if spool else 0) + 1
        self._lock = threading.Lock()  # the counters below
        self.written = 0
        self.spooled = 0
        self.replayed = 0
        self.lost = 0
        self.rejected = 0
        self.database_ok = True
        self._retry_at = 0.0
        self._last_loss_warning = 0.0
        self._table_ready = False

    def start(self) -> None:
        """Create the table if needed and start the writer thread.

        A database that is down at start does not stop the service: the rows wait
        in the spool and the table is prepared once the database answers.
        """
        try:
            self._ensure_table()
        except Exception as err:  # the service answers anyway; rows go to the spool
            logger.warning(
                "Prediction log: the database is not reachable at start; rows wait "
                "in the spool until it is: %s",
                _short(err),
            )
            self.database_ok = False
        self._thread.start()
        logger.info(
            "Prediction log: %s, table %s, spool %s",
            redact(self.url),
            self.table.name,
            self.spool.path if self.spool else "none",
        )

    def _ensure_table(self) -> None:
        """Create the table, or bring a table of an older version up to date.

        One transaction, without the write timeout (PostgreSQL): building the unique
        index on a large old table may take a while.
        """
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SET LOCAL statement_timeout = 0"))
            self.table.metadata.create_all(connection)
            existing = {
                c["name"] for c in inspect(connection).get_columns(self.table.name)
            }
            missing = [
                c for c in (*self.features, *_ADDED_COLUMNS) if c not in existing
            ]
            preparer = connection.dialect.identifier_preparer
            for column in missing:
                kind = _ADDED_COLUMNS.get(column, "TEXT")
                connection.execute(
                    text(
                        f"ALTER TABLE {preparer.format_table(self.table)} "
                        f"ADD COLUMN {preparer.quote(column)} {kind}"
                    )
                )
            for index in self.table.indexes:  # an older table lacks log_key's
                index.create(connection, checkfirst=True)
        if missing:
            logger.info("Prediction log: added columns %s", missing)
        self._table_ready = True

    @property
    def pending(self) -> int:
        """Requests queued or being written."""
        return self._queue.unfinished_tasks

    def status(self) -> dict[str, Any]:
        """The log's state and counters (``/health``)."""
        spool = self.spool
        return {
            "database": redact(self.url),
            "database_ok": self.database_ok,
            "pending": self.pending,
            "written": self.written,
            "spooled": self.spooled,
            "replayed": self.replayed,
            "in_spool": spool.rows if spool else 0,
            "spool_max_rows": spool.max_rows if spool else 0,
            "lost": self.lost,
            "rejected": self.rejected,
        }

    # --- the request side -----------------------------------------------------------
    def submit(self, entry: LogEntry) -> None:
        """Queue a request's rows; never blocks (a full queue sends them to the spool)."""
        with self._submit_lock:
            seq = self._next_seq
            self._next_seq += len(entry.request_ids)
            try:
                self._queue.put_nowait((seq, entry))
            except queue.Full:
                # later rows than anything queued: replayed after the queue is written
                self._to_spool(_keyed_rows(seq, entry))

    # --- the writer thread ----------------------------------------------------------
    def _run(self) -> None:
        self._replay()  # what a previous run left in the spool
        stop = False
        while not stop:
            try:
                first = self._queue.get(timeout=self._idle_timeout())
            except queue.Empty:
                self._replay()
                continue
            if first is _STOP:
                self._queue.task_done()
                break
            batch, stop = self._next_batch(first)
            try:
                self._store([row for item in batch for row in _keyed_rows(*item)])
            except Exception:  # a bug must not stop the writer: count, say, go on
                self._count_lost_entries(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()
            self._replay()
        self._drain()

    def _count_lost_entries(self, batch: list[Any]) -> None:
        rows = sum(len(entry.request_ids) for _, entry in batch)
        logger.exception("Prediction log: %d rows could not be stored", rows)
        with self._lock:
            self.lost += rows

    def _idle_timeout(self) -> float | None:
        """Block until rows come, unless the spool waits for its next replay."""
        if self.spool is None or not self.spool.rows:
            return None
        return max(0.01, self._retry_at - time.monotonic())

    def _next_batch(self, first: Any) -> tuple[list[Any], bool]:
        """``first`` and what else is queued, up to ``batch_size`` rows, waiting at
        most ``flush_interval_s`` for more.

        The writer sleeps rather than waits on the queue: a thread blocked in
        ``get`` is woken by every request's ``put``, and each wake-up takes the
        interpreter from the request path; asleep, it takes what came in one go.
        """
        batch, stop = [first], False
        size = len(first[1].request_ids)
        deadline = time.monotonic() + self.flush_interval_s
        while size < self.batch_size:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                time.sleep(remaining)
                continue
            if item is _STOP:
                self._queue.task_done()
                stop = True
                break
            batch.append(item)
            size += len(item[1].request_ids)
        return batch, stop

    def _drain(self) -> None:
        """Write what is still queued (rows submitted while stopping), then replay."""
        rest = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                rest.extend(_keyed_rows(*item))
            self._queue.task_done()
        for start in range(0, len(rest), self.batch_size):
            self._store(rest[start : start + self.batch_size])
        self._retry_at = 0.0  # one last try: what stays waits for the next start
        self._replay()

    def _store(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        """Insert rows, or spool them: behind older spooled rows, or on failure."""
        if (self.spool is None or not self.spool.rows) and self._try_insert(
            [row for _, row in rows]
        ) is None:
            return
        self._to_spool(rows)

    def _try_insert(self, rows: list[dict[str, Any]]) -> Exception | None:
        """Insert rows in one transaction.

        Returns:
            ``None`` on success, else the error (the database is then marked down
            until the next replay, ``retry_interval_s`` later).
        """
        try:
            if not self._table_ready:
                self._ensure_table()
            with self.engine.begin() as connection:
                connection.execute(self._insert, rows)
        except Exception as err:  # the writer must survive any database error
            self._retry_at = time.monotonic() + self.retry_interval_s
            if self.database_ok:
                logger.warning(
                    "Prediction log: writing %d rows failed, spooling until the "
                    "database takes them again: %s",
                    len(rows),
                    _short(err),
                )
            self.database_ok = False
            return err
        with self._lock:
            self.written += len(rows)
        if not self.database_ok:
            logger.info("Prediction log: the database takes rows again")
        self.database_ok = True
        return None

    def _watermark(self) -> int:
        """Spooled rows below this sequence number may be replayed now: every older
        row is in the database or in the spool (none still in the queue)."""
        with self._submit_lock, self._queue.mutex:
            waiting = self._queue.queue  # FIFO: its head is the oldest queued request
            if waiting and waiting[0] is not _STOP:
                return waiting[0][0]
            return self._next_seq

    def _replay(self) -> None:
        """Move spooled rows to the database, oldest first, until it fails."""
        spool = self.spool
        if spool is None or not spool.rows or time.monotonic() < self._retry_at:
            return
        try:
            self._replay_below(spool, self._watermark())
        except Exception:  # the spool file failed: keep the writer alive, retry later
            logger.exception("Prediction log: replaying the spool failed")
            self._retry_at = time.monotonic() + self.retry_interval_s

    def _replay_below(self, spool: Spool, below: int) -> None:
        """Replay, chunk by chunk, the spooled rows numbered below ``below``."""
        while chunk := spool.head(self.batch_size, below):
            rows = [self._revive(row) for _, row in chunk]
            rejected = self.rejected
            error = self._try_insert(rows)
            if error is not None and not (
                isinstance(error, _ROW_ERRORS) and self._insert_one_by_one(rows)
            ):
                return  # the database is down or slow: the rows stay in the spool
            spool.remove([seq for seq, _ in chunk])
            with self._lock:
                self.replayed += len(chunk) - (self.rejected - rejected)
            if not spool.rows:
                logger.info(
                    "Prediction log: spool replayed, %d rows in all", self.replayed
                )

    def _insert_one_by_one(self, rows: list[dict[str, Any]]) -> bool:
        """After a chunk failed on its data: insert its rows one by one. A row the
        database refuses (bad data, not an outage) is counted ``rejected`` and logged,
        so that one bad row cannot hold the spool up forever.

        Returns:
            ``True`` when every row was inserted or rejected; ``False`` when the
            database failed otherwise (the chunk stays spooled; the rows inserted
            already are skipped by the next replay).
        """
        for row in rows:
            try:
                with self.engine.begin() as connection:
                    connection.execute(self._insert, [row])
            except _ROW_ERRORS as err:
                with self._lock:
                    self.rejected += 1
                logger.error(  # noqa: TRY400 - the reason, not a traceback per row
                    "Prediction log: the database refused row %s (request %s): %s",
                    row.get("log_key"),
                    row.get("request_id"),
                    _short(err),
                )
                continue
            except Exception:  # noqa: BLE001 - down again: keep the chunk spooled
                return False
            with self._lock:
                self.written += 1
        self.database_ok = True
        self._retry_at = 0.0
        return True

    def _revive(self, row: dict[str, Any]) -> dict[str, Any]:
        """A spooled row (JSON) as an insert row: every column, times as datetimes."""
        logged_at = row.get("logged_at")
        if isinstance(logged_at, str):
            row["logged_at"] = datetime.fromisoformat(logged_at)
        return {column: row.get(column) for column in self._columns}

    def _to_spool(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        stored, reason = 0, "no spool is configured"
        if self.spool is not None:
            reason = f"the spool is full ({self.spool.max_rows} rows)"
            try:
                stored = self.spool.append(rows)
            except Exception as err:  # disk full, file removed: the rows cannot be kept
                logger.exception("Prediction log: spooling %d rows failed", len(rows))
                reason = f"the spool failed: {_short(err)}"
        with self._lock:
            self.spooled += stored
            self.lost += len(rows) - stored
        if stored < len(rows):
            self._warn_loss(len(rows) - stored, reason)

    def _warn_loss(self, rows: int, reason: str) -> None:
        now = time.monotonic()
        if now - self._last_loss_warning < _LOSS_WARNING_EVERY_S and self.lost > rows:
            return
        self._last_loss_warning = now
        logger.warning(
            "Prediction log: %d rows lost (%d so far): the database cannot take them "
            "and %s",
            rows,
            self.lost,
            reason,
        )

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued row is written or spooled.

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
        """Write what is queued, stop the thread and release the database.

        Rows the database cannot take stay in the spool for the next start.
        """
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.error(
                    "Prediction log: writer still busy after %.0f s; %d requests "
                    "pending",
                    timeout,
                    self.pending,
                )
        logger.info(
            "Prediction log closed: %d rows written (%d replayed from the spool), "
            "%d spooled, %d left in the spool, %d lost, %d rejected",
            self.written,
            self.replayed,
            self.spooled,
            self.spool.rows if self.spool else 0,
            self.lost,
            self.rejected,
        )
        self.engine.dispose()
        if self.spool is not None and not self._thread.is_alive():
            self.spool.close()


def _keyed_rows(seq: int, entry: LogEntry) -> list[tuple[int, dict[str, Any]]]:
    """The entry's rows with their sequence numbers and unique keys."""
    return [
        (seq + i, row | {"log_key": uuid.uuid4().hex})
        for i, row in enumerate(entry.rows())
    ]


def _idempotent_insert(table: Table, dialect: str) -> Any:
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


def _short(err: Exception) -> str:
    return str(err).splitlines()[0][:300] if str(err) else type(err).__name__


def make_prediction_log(
    settings: ServingSettings, features: list[str]
) -> PredictionLog:
    """The service's prediction log as ``settings.prediction_log`` describes it."""
    conf = settings.prediction_log
    return PredictionLog(
        settings.prediction_log_url(),
        conf.table,
        features,
        batch_size=conf.batch_size,
        flush_interval_s=conf.flush_interval_s,
        queue_size=conf.queue_size,
        spool=Spool(settings.spool_path(), conf.spool.max_rows),
        retry_interval_s=conf.spool.retry_interval_s,
        write_timeout_s=conf.write_timeout_s,
    )
