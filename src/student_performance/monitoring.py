"""What the unattended loop reads from a drift report: the status, retrain or not, why.

The drift_monitoring pipeline decides whether retraining is recommended
(``student_performance.drift.detect.verdict`` writes ``retrain_recommended`` into the
report); ``scripts/monitor_and_retrain.sh`` (``make monitor``) and the Airflow
monitoring DAG (``airflow/dags/``) both read that decision through ``drift_verdict``
and never recompute it.

    python -m student_performance.monitoring path/to/drift_report.json
    # prints: <status> <true|false> <action>   (one line, for the shell script)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple


class DriftVerdict(NamedTuple):
    """A drift report's verdict, as the retraining step needs it."""

    status: str
    retrain_recommended: bool
    action: str

    def line(self) -> str:
        """``<status> <true|false> <action>``: the shell script's reading."""
        return f"{self.status} {str(self.retrain_recommended).lower()} {self.action}"


def drift_verdict(report: Mapping[str, Any]) -> DriftVerdict:
    """The verdict of a drift report (``drift_report.json`` or ``model_drift_report``).

    Args:
        report: The report, with ``status``, ``retrain_recommended`` and ``action``.

    Returns:
        The verdict; ``retrain_recommended`` is exactly the report's boolean.

    Raises:
        ValueError: A field is missing or ``retrain_recommended`` is not a boolean.
    """
    missing = [
        k for k in ("status", "retrain_recommended", "action") if k not in report
    ]
    if missing:
        raise ValueError(f"not a drift report: no {', '.join(missing)}")
    retrain = report["retrain_recommended"]
    if not isinstance(retrain, bool):
        raise ValueError(f"retrain_recommended is not a boolean: {retrain!r}")
    return DriftVerdict(str(report["status"]), retrain, str(report["action"]))


def main(argv: list[str] | None = None) -> int:
    """Print the verdict line of the report file named on the command line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write(
            "usage: python -m student_performance.monitoring REPORT.json\n"
        )
        return 2
    report = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    sys.stdout.write(drift_verdict(report).line() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
