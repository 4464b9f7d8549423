"""The one reading of a drift report that the monitoring script and the DAG share."""

from __future__ import annotations

import json

import pytest

from student_performance.monitoring import DriftVerdict, drift_verdict, main

REPORT = {
    "status": "drift",
    "status_code": 2,
    "retrain_recommended": True,
    "action": "retrain: run `kedro run --pipelines training`",
    "alerts": [],
}


def test_the_verdict_is_the_report_s_own_decision():
    assert drift_verdict(REPORT) == DriftVerdict(
        "drift", True, "retrain: run `kedro run --pipelines training`"
    )
    assert drift_verdict({**REPORT, "retrain_recommended": False}).line() == (
        "drift false retrain: run `kedro run --pipelines training`"
    )


@pytest.mark.parametrize(
    "report",
    [
        {"status": "ok", "action": "none"},
        {**REPORT, "retrain_recommended": "true"},
    ],
)
def test_a_report_without_a_boolean_decision_is_refused(report):
    with pytest.raises(ValueError, match="retrain_recommended"):
        drift_verdict(report)


def test_the_command_prints_one_line_for_the_shell_script(tmp_path, capsys):
    path = tmp_path / "drift_report.json"
    path.write_text(json.dumps(REPORT))
    assert main([str(path)]) == 0
    assert capsys.readouterr().out == (
        "drift true retrain: run `kedro run --pipelines training`\n"
    )
    assert main([]) == 2
