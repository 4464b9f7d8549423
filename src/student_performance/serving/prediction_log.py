"""The prediction log: every answered record, written to a database off the hot path.

Requests only put rows on a bounded queue; one background thread inserts them in
batches (``batch_size`` rows, or what arrived within ``flush_interval_s``) through
SQLAlchemy, so a slow database never slows an answer. Nothing is dropped silently:

- a write the database refuses or cannot take (down, unreachable) goes to the spool
  (``log_store.py``, ``spool.py``); while the spool holds rows, new rows queue up
  behind them there, and the writer replays them in answer order every
  ``retry_interval_s`` until the database takes them;
- when the queue is full, the request's rows go straight to the spool;
- a spool left by a previous run (the database was down at shutdown, or the process
  was killed) is replayed first at start;
- rows are lost only when the spool is full (``max_rows``): counted, logged at
  WARNING and exported (``prediction_log_rows_lost_total``).

The table and its rows are ``log_table.py``'s: replays are idempotent (a unique index
on ``log_key``), and tables made by older versions get the column and the index at
start (their old rows keep NULL).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import TYPE_CHECKING, Any

from student_performance.serving.log_store import LogStore
from student_performance.serving.log_table import LogEntry, keyed_rows, redact, short
from student_performance.serving.spool import Spool

if TYPE_CHECKING:
    from student_performance.serving.config import ServingParams

logger = logging.getLogger(__name__)

_STOP = object()


class PredictionLog(LogStore):
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
        super().__init__(
            url, table, features, batch_size, spool, retry_interval_s, write_timeout_s
        )
        self.flush_interval_s = flush_interval_s
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(
            target=self._run, name="prediction-log-writer", daemon=True
        )
        # held while a request's rows get their sequence numbers and are queued or
        # spooled, so that the writer can tell which spooled rows may be replayed
        self._submit_lock = threading.Lock()
        self._next_seq = (spool.last_seq if spool else 0) + 1

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
                short(err),
            )
            self.database_ok = False
        self._thread.start()
        logger.info(
            "Prediction log: %s, table %s, spool %s",
            redact(self.url),
            self.table.name,
            self.spool.path if self.spool else "none",
        )

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
                self._to_spool(keyed_rows(seq, entry))

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
                self._store([row for item in batch for row in keyed_rows(*item)])
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
                rest.extend(keyed_rows(*item))
            self._queue.task_done()
        for start in range(0, len(rest), self.batch_size):
            self._store(rest[start : start + self.batch_size])
        self._retry_at = 0.0  # one last try: what stays waits for the next start
        self._replay()

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


def make_prediction_log(settings: ServingParams, features: list[str]) -> PredictionLog:
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
