"""Every benchmark runs from a fresh clone: each script's --smoke mode, tiny sizes.

The figures a smoke run prints mean nothing (tiny sizes, a shared machine); what is
checked is that the script measures what it says and prints its table. Each script
keeps its own stores in a temporary folder.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow


def _smoke(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, f"benchmarks/{script}", "--smoke", *args],
        cwd=PROJECT_ROOT,
        env=os.environ | {"KEDRO_DISABLE_TELEMETRY": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_training_benchmark_prints_the_overhead_ratio():
    out = _smoke("training_benchmark.py")
    assert "bare scikit-learn fits" in out
    assert "overhead ratio" in out
