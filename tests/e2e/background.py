"""Servers that tests start: a free loopback port, a process group of its own, a poll
until it answers, and a teardown that stops the whole group (kedro viz run and mlflow
server both leave children alive when only their parent is killed).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port(below: int | None = None) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    ``below``: only ports under it (kedro-viz refuses ports above 49151, the start of
    the range the system hands out for port 0).
    """
    candidates = [0] if below is None else random.sample(range(20000, below), 50)
    for candidate in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((LOOPBACK, candidate))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError(f"no free port below {below}")


def wait_for_http(
    url: str, process: subprocess.Popen, log: Path, timeout: float = 90.0
) -> bytes:
    """Poll ``url`` until it answers 200; fail early if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode} before answering {url}:\n"
                + log.read_text(errors="replace")[-3000:]
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                if response.status == 200:  # noqa: PLR2004
                    return response.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise TimeoutError(
        f"{url} did not answer within {timeout:.0f} s:\n"
        + log.read_text(errors="replace")[-3000:]
    )


def stop_process_group(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process's whole group, then SIGKILL what is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    # children may outlive the leader: kill whatever is still in the group, and wait
    # (briefly) until the group is gone, so that its ports are closed on return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        process.poll()  # reap the leader, or it stays in the group as a zombie
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            break
        time.sleep(0.1)


@contextlib.contextmanager
def process_group(
    command: list[str], log: Path, cwd: Path | None = None, env: dict | None = None
) -> Iterator[subprocess.Popen]:
    """Run ``command`` in a new session (its own process group); stop the group on exit,
    whatever happened in between."""
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603
            command,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop_process_group(process)
