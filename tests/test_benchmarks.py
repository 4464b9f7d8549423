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

from tests.conftest import PROJECT_ROOT, registered_model_name

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


def test_drift_benchmark_prints_the_nodes_and_the_command_line_figures():
    out = _smoke("drift_benchmark.py")
    assert "Monte-Carlo chi-square" in out
    assert "peak RSS" in out


def test_scoring_benchmark_prints_both_formats_against_their_floors():
    out = _smoke("scoring_benchmark.py")
    assert "pandas engine" in out
    assert "pandas csv" in out


def test_serving_benchmark_prints_predict_against_a_404(trained_project):
    out = _smoke(
        "serving_benchmark.py",
        "--env",
        "test",
        "--tracking-uri",
        os.environ["MLFLOW_TRACKING_URI"],
        "--model-name",
        registered_model_name(trained_project),
    )
    assert "404" in out
