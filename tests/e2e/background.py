"""Helpers of the end-to-end tests.

Servers that tests start: a free loopback port, a process group of its own, a poll
until it answers, and a teardown that stops the whole group (kedro viz run and mlflow
server both leave children alive when only their parent is killed). And MLflow's
process-wide URIs, put back after a test that points them elsewhere.
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


def wait_until(condition, what: str, timeout: float, interval: float = 0.05) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(interval)


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


_MLFLOW_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@contextlib.contextmanager
def restored_mlflow_uris() -> Iterator[None]:
    """Put MLflow's tracking and registry URIs back as they were, on exit.

    ``mlflow.set_tracking_uri`` / ``set_registry_uri`` (called by kedro-mlflow for
    every session) also export ``MLFLOW_TRACKING_URI`` / ``MLFLOW_REGISTRY_URI`` for
    subprocesses, and ``set_registry_uri(None)`` does not remove the variable: a
    registry URI set by one test would otherwise send later registrations to its
    store. MLflow has no public "unset", hence its module globals here.
    """
    from mlflow.tracking._model_registry import utils as registry  # noqa: PLC0415
    from mlflow.tracking._tracking_service import utils as tracking  # noqa: PLC0415

    saved_globals = (tracking._tracking_uri, registry._registry_uri)  # noqa: SLF001
    saved_environ = {name: os.environ.get(name) for name in _MLFLOW_VARIABLES}
    try:
        yield
    finally:
        tracking._tracking_uri, registry._registry_uri = saved_globals  # noqa: SLF001
        for name, value in saved_environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
