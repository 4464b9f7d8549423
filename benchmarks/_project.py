"""A throwaway copy of the project for benchmarks that time a whole ``kedro run``.

Shared by the benchmark scripts (run as scripts, so this folder is on ``sys.path``).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data/01_raw/student_entry_performance_modified.csv"
KEDRO = str(Path(sys.executable).with_name("kedro"))


def project_copy(target: Path) -> tuple[Path, dict[str, str]]:
    """conf (less conf/local), pyproject.toml and the raw file in ``target``, and an
    environment whose MLflow store and artifacts stay inside it."""
    shutil.copytree(
        ROOT / "conf", target / "conf", ignore=shutil.ignore_patterns("local")
    )
    (target / "conf/local").mkdir()
    (target / "src").mkdir()  # Kedro wants a source dir; the package is installed
    shutil.copy(ROOT / "pyproject.toml", target)
    (target / "data/01_raw").mkdir(parents=True)
    shutil.copy(RAW, target / "data/01_raw")
    env = os.environ | {
        "MLFLOW_TRACKING_URI": f"sqlite:///{target / 'mlflow.db'}",
        "MLFLOW_ARTIFACT_ROOT": str(target / "mlartifacts"),
        "KEDRO_DISABLE_TELEMETRY": "1",
    }
    return target, env
