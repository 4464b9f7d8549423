"""One gate at a time per tracking store: the file lock the registry gate holds.

Two trainings that finish together (two terminals, a scheduler retrying) would
otherwise both compare against the same old champion and both record "promoted", the
later alias write winning. The gate, and rollback, hold a file lock keyed by the store:
beside the SQLite file or inside the file store, so every process on the machine sees
it; for a remote server in the machine's temporary folder, which serialises the
trainings of one machine only. The operating system releases the lock of a killed
process.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from filelock import FileLock, Timeout

logger = logging.getLogger(__name__)

GATE_LOCK_TIMEOUT = 3600.0  # seconds: a gate re-scores by CV, so it may take minutes


def gate_lock_path(tracking_uri: str) -> Path:
    """The lock file that serialises the gate on one tracking store.

    Args:
        tracking_uri: The store's URI (``sqlite:///...``, a folder, ``http://...``).

    Returns:
        ``<db>.gate.lock`` beside an SQLite file, ``.gate.lock`` in a file store, else
        a file in the temporary folder named after the URI's hash.
    """
    parsed = urlparse(tracking_uri)
    if parsed.scheme == "sqlite":
        database = Path(tracking_uri.removeprefix("sqlite:///")).resolve()
        return database.with_name(f"{database.name}.gate.lock")
    if parsed.scheme in {"", "file"}:
        return Path(parsed.path or tracking_uri).resolve() / ".gate.lock"
    digest = hashlib.sha256(tracking_uri.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"student_performance-gate-{digest}.lock"


@contextmanager
def gate_lock(tracking_uri: str, timeout: float = GATE_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the store's gate lock (``gate_lock_path``), waiting for another holder.

    Raises:
        RuntimeError: Still held by another process after ``timeout`` seconds.
    """
    path = gate_lock_path(tracking_uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        logger.info("Registry: another run holds the gate (%s): waiting", path)
        try:
            lock.acquire(timeout=timeout)
        except Timeout as err:
            raise RuntimeError(
                f"registry gate still locked by another run after {timeout:.0f} s "
                f"({path}): nothing registered"
            ) from err
    try:
        yield
    finally:
        lock.release()
