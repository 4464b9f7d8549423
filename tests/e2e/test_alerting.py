"""End-to-end alert delivery on loopback: the real service (``python -m
student_performance.serving``), a real Prometheus scraping it and a Pushgateway with the
project's rules, a real Alertmanager with the project's routing, and a webhook receiver
run by the test.

- Predictions all of one class until ``PredictionClassMixShifted`` reaches the receiver
  with its labels and annotations.
- ``drift_monitoring`` on a drifted batch pushes its verdict: ``DriftDetected`` arrives;
  after a batch without drift it is resolved.
- Every PromQL expression of the Grafana dashboard returns ``success`` with data.

The rules' windows and ``for:`` durations are shortened (``fast_rules``) and the
Alertmanager groups for one second, so the test takes well under two minutes; the
delivery times are printed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import SHIPPED_RAW, registered_model_name, run_kedro
from tests.e2e.monitoring import (
    MONITORING,
    WebhookReceiver,
    alertmanager,
    prometheus,
    push_time,
    pushgateway,
    query,
    require_tool,
    wait_for_series,
)
from tests.e2e.test_drift_monitoring_run import messy_batch
from tests.serving.conftest import start_server

pytestmark = pytest.mark.slow

SERVICE_JOB = 'job="student_performance"'


class Stack:
    """The running pieces and their URLs."""

    def __init__(self, service, receiver, prometheus_url, pushgateway_url, am_url):
        self.service = service
        self.receiver = receiver
        self.prometheus = prometheus_url
        self.pushgateway = pushgateway_url
        self.alertmanager = am_url


@pytest.fixture(scope="module")
def stack(trained_project: Path, tmp_path_factory) -> Iterator[Stack]:
    for tool in ("prometheus", "prometheus-alertmanager", "prometheus-pushgateway"):
        require_tool(tool)
    workdir = tmp_path_factory.mktemp("alerting")
    service = start_server(
        trained_project, registered_model_name(trained_project), workdir
    )
    try:
        with (
            WebhookReceiver() as receiver,
            pushgateway(workdir) as gateway,
            alertmanager(workdir, receiver.url) as am_url,
            prometheus(
                workdir, service.url.removeprefix("http://"), gateway, am_url
            ) as prom,
        ):
            # the first scrape: the service is up and exports its training shares
            wait_for_series(prom, f"up{{{SERVICE_JOB}}} == 1")
            wait_for_series(prom, "serving_model_training_class_share")
            yield Stack(service, receiver, prom, gateway, am_url)
    finally:
        service.stop()


def _one_class_record(stack: Stack) -> tuple[dict, str]:
    """A raw record whose prediction is the class with the smallest training share."""
    shares = {
        s["metric"]["predicted_class"]: float(s["value"][1])
        for s in wait_for_series(stack.prometheus, "serving_model_training_class_share")
    }
    import pandas as pd  # noqa: PLC0415

    raw = pd.read_csv(SHIPPED_RAW, dtype="string", keep_default_na=False)
    records = raw.drop(columns=["Performance", "mixed_type_col"]).head(200)
    records = records.to_dict(orient="records")
    answer = httpx.post(
        f"{stack.service.url}/predict/batch", json={"records": records}, timeout=30
    ).json()
    by_class = {p["prediction"]: i for i, p in enumerate(answer["predictions"])}
    target = min(by_class, key=lambda c: shares[c])
    return records[by_class[target]], target


def _print(capsys, text: str) -> None:
    with capsys.disabled():
        print(f"\n[alerting e2e] {text}")  # noqa: T201 - the measured times, on purpose


def test_class_mix_alert_reaches_the_receiver(stack: Stack, capsys):
    record, target = _one_class_record(stack)
    client = httpx.Client(base_url=stack.service.url, timeout=30)
    sent = {"records": 0}

    def send() -> None:
        answer = client.post("/predict/batch", json={"records": [record] * 50})
        assert answer.status_code == 200
        assert {p["prediction"] for p in answer.json()["predictions"]} == {target}
        sent["records"] += 50
        time.sleep(0.1)

    start = time.monotonic()
    send()
    note, alert = stack.receiver.wait_for(
        "PredictionClassMixShifted", "firing", since=start, timeout=90, poke=send
    )
    client.close()
    elapsed = note["received"] - start
    _print(
        capsys,
        f"PredictionClassMixShifted delivered {elapsed:.1f} s after the first of "
        f"{sent['records']} one-class predictions ({target})",
    )
    assert note["path"] == "/warning"  # routed by severity
    labels = alert["labels"]
    assert labels["severity"] == "warning"
    assert labels["job"] == "student_performance"
    assert labels["instance"] == stack.service.url.removeprefix("http://")
    annotations = alert["annotations"]
    assert "moved away from the training shares" in annotations["summary"]
    assert "total variation distance" in annotations["description"]
    assert annotations["runbook"].endswith("#predictionclassmixshifted")
    assert elapsed < 60  # noqa: PLR2004


def _drift_run(project: Path, batch: Path, gateway: str, monkeypatch) -> None:
    monkeypatch.setenv("PUSHGATEWAY_URL", gateway)
    run_kedro(
        project,
        ["drift_monitoring"],
        env="test",
        runtime_params={"drift_batch": str(batch)},
    )


def _pushed(stack: Stack) -> dict[str, float]:
    """When the run's verdict reached the gateway, wall clock and monotonic."""
    wall = push_time(stack.pushgateway, "drift_monitoring", pipeline="drift_monitoring")
    return {"wall": wall, "monotonic": time.monotonic() - (time.time() - wall)}


def test_drift_alert_arrives_and_resolves(
    stack: Stack, trained_project: Path, tmp_path: Path, monkeypatch, capsys
):
    drifted = messy_batch(SHIPPED_RAW, tmp_path / "drifted_batch.csv")
    _drift_run(trained_project, drifted, stack.pushgateway, monkeypatch)
    pushed = _pushed(stack)
    report = json.loads(
        (trained_project / "data/08_reporting/drift_report.json").read_text()
    )
    assert report["status"] == "drift"
    note, alert = stack.receiver.wait_for(
        "DriftDetected", "firing", since=pushed["monotonic"], timeout=60
    )
    fired = note["received_wall"] - pushed["wall"]
    assert note["path"] == "/critical"
    assert alert["labels"]["batch"] == "drifted_batch.csv"
    assert alert["labels"]["pipeline"] == "drift_monitoring"
    assert alert["labels"]["severity"] == "critical"
    assert "drift on drifted_batch.csv" in alert["annotations"]["summary"]
    assert alert["annotations"]["runbook"].endswith("#driftdetected")

    _drift_run(trained_project, SHIPPED_RAW, stack.pushgateway, monkeypatch)
    pushed = _pushed(stack)
    report = json.loads(
        (trained_project / "data/08_reporting/drift_report.json").read_text()
    )
    assert report["status"] == "ok"
    note, alert = stack.receiver.wait_for(
        "DriftDetected", "resolved", since=pushed["monotonic"], timeout=60
    )
    resolved = note["received_wall"] - pushed["wall"]
    _print(
        capsys,
        f"DriftDetected delivered {fired:.1f} s after the drifted run's push; "
        f"resolved {resolved:.1f} s after the no-drift run's push",
    )
    assert alert["labels"]["batch"] == "drifted_batch.csv"
    # the no-drift verdict is on the gateway now, and no drift alert is active
    status = wait_for_series(stack.prometheus, "drift_monitoring_status_code == 0")
    assert status[0]["metric"]["batch"] == SHIPPED_RAW.name


def test_every_grafana_panel_query_returns_data(stack: Stack, capsys):
    dashboard = json.loads(
        (MONITORING / "grafana/dashboards/student_performance.json").read_text()
    )
    # traffic and a drift verdict, in case this test runs alone
    httpx.get(f"{stack.service.url}/health")
    if not query(stack.prometheus, "drift_monitoring_status_code")["data"]["result"]:
        from student_performance.datasets import PushgatewayDataset  # noqa: PLC0415

        PushgatewayDataset(
            gateway=stack.pushgateway,
            job="drift_monitoring",
            prefix="drift_monitoring_",
            grouping_key={"pipeline": "drift_monitoring"},
            labels_from=["batch"],
        ).save(
            {"batch": "b.csv"}
            | dict.fromkeys(
                ["status_code", "retrain_recommended", "max_psi", "columns_flagged"], 0
            )
        )
    record = {"Gender": "female"}
    httpx.post(f"{stack.service.url}/predict", json=record)
    expressions = [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel["targets"]
    ]
    missing: list[str] = []
    deadline = time.monotonic() + 30
    for title, expr in expressions:
        # the prediction-set metric is not served yet: the query must still be valid
        if "prediction_set_size" in expr:
            assert query(stack.prometheus, expr)["status"] == "success"
            continue
        while True:
            answer = query(stack.prometheus, expr)
            assert answer["status"] == "success", (title, expr, answer)
            if answer["data"]["result"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if not answer["data"]["result"]:
            missing.append(f"{title}: {expr}")
    assert not missing, "panels without data:\n" + "\n".join(missing)
    _print(capsys, f"{len(expressions)} Grafana panel queries answered with data")
