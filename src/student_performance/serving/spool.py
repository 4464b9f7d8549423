"""The prediction log's spool: rows the database could not take yet, on local disk.

A bounded, append-only FIFO of log rows in an SQLite file (stdlib ``sqlite3``: one
file, transactions and crash safety for free, nothing hand-written to parse after a
crash). Each row is kept with its sequence number (the order in which the service
answered) as one JSON document; rows leave the spool, oldest first, only once the
database has committed them.

The file is in WAL mode with ``synchronous=NORMAL``: a committed append survives a
crash or kill of the service (not necessarily a power cut). It belongs to one
service process and one log database: give every instance its own path.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

logger = logging.getLogger(__name__)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY, row BLOB NOT NULL)"
)


def _encode(row: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(row)
    except TypeError:  # e.g. an integer beyond 64 bits in a payload
        return json.dumps(row, default=_iso).encode()


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class Spool:
    """Log rows waiting for the database, oldest first, at most ``max_rows``.

    Thread-safe: the writer thread and request handlers (when the queue is full)
    append, the writer thread replays.

    Args:
        path: The SQLite file (its folder is created).
        max_rows: The bound: appends beyond it are refused (the caller counts them).
    """

    def __init__(self, path: str | Path, max_rows: int) -> None:
        self.path = Path(path)
        self.max_rows = max_rows
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._rows, last = self._db.execute(
            "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM spool"
        ).fetchone()
        self.last_seq: int = last
        if self._rows:
            logger.info(
                "Prediction log spool %s holds %d rows from before: replaying them",
                self.path,
                self._rows,
            )

    @property
    def rows(self) -> int:
        """Rows in the spool now."""
        return self._rows

    def append(self, rows: list[tuple[int, dict[str, Any]]]) -> int:
        """Add ``(seq, row)`` pairs, as many as the bound allows, in one transaction.

        Returns:
            How many of ``rows`` were stored (the first ones); the rest are refused.
        """
        with self._lock:
            accepted = rows[: max(0, self.max_rows - self._rows)]
            if not accepted:
                return 0
            data = [(seq, _encode(row)) for seq, row in accepted]
            with self._db:  # one transaction: all of them or none
                self._db.execute("BEGIN")
                self._db.executemany("INSERT INTO spool (seq, row) VALUES (?, ?)", data)
            self._rows += len(accepted)
            self.last_seq = max(self.last_seq, accepted[-1][0])
            return len(accepted)

    def head(self, limit: int, below: int) -> list[tuple[int, dict[str, Any]]]:
        """The oldest ``limit`` rows whose sequence number is below ``below``."""
        with self._lock:
            found = self._db.execute(
                "SELECT seq, row FROM spool WHERE seq < ? ORDER BY seq LIMIT ?",
                (below, limit),
            ).fetchall()
        return [(seq, orjson.loads(row)) for seq, row in found]

    def remove(self, seqs: list[int]) -> None:
        """Forget rows the database has committed."""
        with self._lock:
            with self._db:
                self._db.execute("BEGIN")
                removed = self._db.executemany(
                    "DELETE FROM spool WHERE seq = ?", [(s,) for s in seqs]
                ).rowcount
            self._rows -= removed

    def close(self) -> None:
        """Close the file (what it holds stays for the next start)."""
        with self._lock:
            self._db.close()
