"""Peak memory of a benchmarked command and of the processes it starts.

Shared by the benchmark scripts (run as scripts, so this folder is on ``sys.path``).
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import psutil

MB = 1024 * 1024


class TreeMemory:
    """Peak RSS of a process and of each of its descendants, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self.root = pid
        self.peaks: dict[int, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        try:
            root = psutil.Process(self.root)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for proc in procs:
            try:
                rss = proc.memory_info().rss
                role = "driver" if proc.pid == self.root else "worker"
                command = " ".join(proc.cmdline())
            except psutil.Error:
                continue
            # A worker is a spawned Python process; not multiprocessing's resource
            # tracker, nor short-lived helpers (a shell running uname, say).
            if role == "worker" and (
                "spawn_main" not in command or "resource_tracker" in command
            ):
                continue
            if rss == 0:  # a process already gone (a zombie), not a worker
                continue
            peak = self.peaks.get(proc.pid, (role, 0))[1]
            self.peaks[proc.pid] = (role, max(peak, rss))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(0.1)

    def stop(self) -> dict[int, tuple[str, int]]:
        self._stop.set()
        self._thread.join()
        return self.peaks


def measured(command: list[str], cwd: Path, env: dict) -> tuple[str, float, dict]:
    """Run ``command``; its stdout, wall seconds and ``TreeMemory`` peaks."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    memory = TreeMemory(process.pid)
    out, err = process.communicate()
    wall = time.perf_counter() - start
    peaks = memory.stop()
    if process.returncode:
        raise RuntimeError(f"{command} failed:\n{err.decode()[-3000:]}")
    return out.decode(), wall, peaks


def peaks_mb(peaks: dict) -> tuple[float, list[float]]:
    """The driver's peak and the workers' peaks (MB, largest first)."""
    driver = max((v for r, v in peaks.values() if r == "driver"), default=0) / MB
    workers = sorted((v / MB for r, v in peaks.values() if r == "worker"), reverse=True)
    return driver, workers
