"""The prediction log's database side: inserts, and the spool while they fail.

A write the database refuses or cannot take (down, unreachable) goes to the spool
(``spool.py``, an SQLite file on local disk); while the spool holds rows, new rows
queue up behind them there, and the spool is replayed in answer order every
``retry_interval_s`` until the database takes them. A row the database refuses for its
data (not an outage) is counted ``rejected`` and logged, so that one bad row cannot
hold the spool up; rows are lost only when the spool is full or fails (counted,
logged at WARNING). ``PredictionLog`` (``prediction_log.py``) adds the request queue
and the writer thread.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from sqlalchemy import MetaData, inspect, text

from student_performance.serving.log_table import (
    ADDED_COLUMNS,
    ROW_ERRORS,
    idempotent_insert,
    log_table,
    make_engine,
    short,
)
from student_performance.serving.spool import Spool

logger = logging.getLogger(__name__)

_LOSS_WARNING_EVERY_S = 10  # at most one loss warning in this time (the first always)


class LogStore:
    """Inserts into the prediction-log table, spooling what the database cannot take.

    Args:
        url: SQLAlchemy database URL.
        table: Table name (created if missing; missing columns are added).
        features: Feature names, in schema order.
        batch_size: Most rows per INSERT.
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
        spool: Spool | None = None,
        retry_interval_s: float = 1.0,
        write_timeout_s: float | None = None,
    ) -> None:
        self.url = url
        self.features = list(features)
        self.batch_size = batch_size
        self.retry_interval_s = retry_interval_s
        self.engine = make_engine(url, write_timeout_s)
        self.table = log_table(table, self.features, MetaData())
        self._columns = [c.name for c in self.table.columns if c.name != "id"]
        self._insert = idempotent_insert(self.table, self.engine.dialect.name)
        self.spool = spool
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
            missing = [c for c in (*self.features, *ADDED_COLUMNS) if c not in existing]
            preparer = connection.dialect.identifier_preparer
            for column in missing:
                kind = ADDED_COLUMNS.get(column, "TEXT")
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
                    short(err),
                )
            self.database_ok = False
            return err
        with self._lock:
            self.written += len(rows)
        if not self.database_ok:
            logger.info("Prediction log: the database takes rows again")
        self.database_ok = True
        return None

    def _replay_below(self, spool: Spool, below: int) -> None:
        """Replay, chunk by chunk, the spooled rows numbered below ``below``."""
        while chunk := spool.head(self.batch_size, below):
            rows = [self._revive(row) for _, row in chunk]
            rejected = self.rejected
            error = self._try_insert(rows)
            if error is not None and not (
                isinstance(error, ROW_ERRORS) and self._insert_one_by_one(rows)
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
            except ROW_ERRORS as err:
                with self._lock:
                    self.rejected += 1
                logger.error(  # noqa: TRY400 - the reason, not a traceback per row
                    "Prediction log: the database refused row %s (request %s): %s",
                    row.get("log_key"),
                    row.get("request_id"),
                    short(err),
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
                reason = f"the spool failed: {short(err)}"
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
