"""monitoring/: the Prometheus config and rules pass promtool (check and the unit tests
of every alert), the Alertmanager config passes amtool, every alert has a firing and a
quiet case and a section on the operations page, and the Pushgateway dataset pushes to
a real Pushgateway.

Skips when the Debian tools are missing, except under CI=true where they must run
(``make test`` installs them: scripts/install_system_deps.sh).
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml
from kedro.io import DatasetError

from student_performance.datasets import PushgatewayDataset
from tests.conftest import PROJECT_ROOT
from tests.e2e.monitoring import fast_rules, pushgateway, require_tool

MONITORING = PROJECT_ROOT / "monitoring"
PROMETHEUS = MONITORING / "prometheus"
ALERTS = PROMETHEUS / "rules/alerts.yml"
UNIT_TESTS = PROMETHEUS / "tests/alerts_test.yml"
OPERATIONS = PROJECT_ROOT / "docs/source/operations.md"


def _run(command: list[str], cwd: Path = PROMETHEUS) -> str:
    result = subprocess.run(  # noqa: S603 - the project's own tools and files
        command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _alerts() -> list[dict]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_checks_the_config_and_rules():
    promtool = require_tool("promtool")
    out = _run([promtool, "check", "config", "prometheus.yml"])
    assert "SUCCESS" in out
    rules = sorted(str(p) for p in (PROMETHEUS / "rules").glob("*.yml"))
    assert "SUCCESS" in _run([promtool, "check", "rules", *rules])


def test_promtool_unit_tests_of_every_alert_pass():
    promtool = require_tool("promtool")
    out = _run([promtool, "test", "rules", str(UNIT_TESTS)])
    assert "SUCCESS" in out


def test_the_fast_rules_of_the_end_to_end_test_are_valid(tmp_path):
    promtool = require_tool("promtool")
    for path in (PROMETHEUS / "rules").glob("*.yml"):
        (tmp_path / path.name).write_text(fast_rules(path.read_text()))
    rules = sorted(str(p) for p in tmp_path.glob("*.yml"))
    assert "SUCCESS" in _run([promtool, "check", "rules", *rules])


def test_amtool_checks_the_alertmanager_config():
    amtool = require_tool("amtool")
    config = MONITORING / "alertmanager/alertmanager.yml"
    assert "SUCCESS" in _run([amtool, "check-config", str(config)])


def test_every_alert_has_severity_annotations_a_firing_and_a_quiet_case():
    tests = yaml.safe_load(UNIT_TESTS.read_text())["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]
    for rule in _alerts():
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert set(rule["annotations"]) == {"summary", "description", "runbook"}, name
        mine = [c for c in cases if c["alertname"] == name]
        assert any(c["exp_alerts"] for c in mine), f"{name} never fires in a test"
        # quiet: an empty case, or another series of the firing test left out
        assert any(not c["exp_alerts"] for c in mine) or any(
            len({str(s["series"]) for s in t["input_series"]}) > len(c["exp_alerts"])
            for t in tests
            for c in t.get("alert_rule_test", [])
            if c["alertname"] == name and c["exp_alerts"]
        ), f"{name} has no quiet case"


def test_every_alert_has_a_runbook_section_on_the_operations_page():
    page = OPERATIONS.read_text()
    for rule in _alerts():
        anchor = rule["annotations"]["runbook"].rsplit("#", 1)[1]
        assert anchor == rule["alert"].lower()
        assert f"### {rule['alert']}" in page, rule["alert"]


def test_thresholds_live_in_one_file():
    """Alert expressions compare with the threshold series, never with literals."""
    for rule in _alerts():
        if "threshold" in rule["expr"]:
            assert "student_performance:threshold:" in rule["expr"]
    recorded = yaml.safe_load((PROMETHEUS / "rules/thresholds.yml").read_text())
    names = {r["record"] for g in recorded["groups"] for r in g["rules"]}
    used = ALERTS.read_text() + (PROMETHEUS / "rules/recording.yml").read_text()
    assert all(name in used for name in names)


def test_grafana_dashboard_is_valid_json_with_a_query_per_panel():
    dashboard = json.loads(
        (MONITORING / "grafana/dashboards/student_performance.json").read_text()
    )
    assert dashboard["uid"] and dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["targets"] and all(t["expr"] for t in panel["targets"])
        assert panel["datasource"]["uid"] == "prometheus"


# --- PushgatewayDataset --------------------------------------------------------------
def test_pushgateway_dataset_without_a_url_does_nothing():
    dataset = PushgatewayDataset(gateway=None, job="drift_monitoring")
    dataset.save({"status_code": 2})  # no error, no network
    with pytest.raises(DatasetError, match="write-only"):
        dataset.load()


def test_pushgateway_dataset_pushes_gauges_with_labels(tmp_path):
    with pushgateway(tmp_path) as url:
        dataset = PushgatewayDataset(
            gateway=url,
            job="drift_monitoring",
            prefix="drift_monitoring_",
            grouping_key={"pipeline": "drift_monitoring"},
            labels_from=["batch"],
        )
        dataset.save(
            {
                "batch": "b.csv",
                "status_code": {"value": 2, "help": "the verdict"},
                "rows": 120,
            }
        )
        dataset.save({})  # nothing to push: the previous figures stay
        with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:  # noqa: S310
            text = response.read().decode()
    line = next(
        x for x in text.splitlines() if x.startswith("drift_monitoring_status_code{")
    )
    assert 'batch="b.csv"' in line and 'pipeline="drift_monitoring"' in line
    assert 'job="drift_monitoring"' in line and line.endswith(" 2")
    assert "# HELP drift_monitoring_status_code the verdict" in text
    assert any(x.startswith("drift_monitoring_rows{") for x in text.splitlines())


def test_pushgateway_dataset_names_the_gateway_when_it_is_down():
    dataset = PushgatewayDataset(gateway="http://127.0.0.1:9", job="drift_monitoring")
    with pytest.raises(DatasetError, match=r"127\.0\.0\.1:9"):
        dataset.save({"status_code": 0})
