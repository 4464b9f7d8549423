"""GET /dashboard and GET /dashboard/data: the live page's figures in-process, the
training shares in /metrics, and the page in headless Chromium against a real uvicorn
process, with traffic that changes the numbers and a real drift verdict."""

from __future__ import annotations

import json
import math
from pathlib import Path

import httpx
import pytest

from student_performance.serving.dashboard import (
    histogram_quantile,
    read_drift_verdict,
    training_class_shares,
)
from tests.conftest import SHIPPED_RAW, run_kedro
from tests.e2e.test_drift_monitoring_run import messy_batch


# --- pure helpers ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("q", "expected"),
    [(0.25, 0.0015), (0.5, 0.002), (0.9, 0.003), (0.99, 0.0048)],
)
def test_histogram_quantile_interpolates_like_prometheus(q, expected):
    # none <= 1 ms, 50 in (1, 2] ms, 40 in (2, 3] ms, 10 in (3, 5] ms
    buckets = {0.001: 0.0, 0.002: 50.0, 0.003: 90.0, 0.005: 100.0, math.inf: 100.0}
    assert histogram_quantile(q, buckets) == pytest.approx(expected)


def test_histogram_quantile_edge_cases():
    assert histogram_quantile(0.5, {}) is None
    assert histogram_quantile(0.5, {0.1: 0.0, math.inf: 0.0}) is None
    assert histogram_quantile(0.99, {0.1: 1.0, math.inf: 10.0}) == 0.1


def test_read_drift_verdict_takes_the_newer_report(tmp_path):
    assert read_drift_verdict(tmp_path, ["missing.json"])["status"] == "unknown"
    old, new = tmp_path / "a.json", tmp_path / "b.json"
    old.write_text(json.dumps({"status": "ok", "reasons": []}))
    new.write_text(
        json.dumps(
            {
                "status": "drift",
                "reasons": ["coaching: distribution changed"],
                "action": "retrain",
                "retrain_recommended": True,
                "batch": "b.csv",
                "rows": 300,
            }
        )
    )
    import os  # noqa: PLC0415

    os.utime(old, (1, 1))
    verdict = read_drift_verdict(tmp_path, ["a.json", str(new)])
    assert verdict["status"] == "drift" and verdict["batch"] == "b.csv"
    assert verdict["reasons"] == ["coaching: distribution changed"]
    (tmp_path / "bad.json").write_text("{not json")
    assert read_drift_verdict(tmp_path, ["bad.json"])["status"] == "unknown"


# --- in-process ----------------------------------------------------------------------
def test_dashboard_data_moves_with_traffic(make_client, raw_records, champion_bundle):
    client = make_client()
    before = client.get("/dashboard/data").json()
    assert before["requests"]["total"] == 0 and before["predictions"]["total"] == 0
    for record in raw_records[:20]:
        assert client.post("/predict", json=record).status_code == 200
    client.post("/predict/batch", json={"records": raw_records[20:50]})
    client.post("/predict", json={"Caste": "Brahmin"})  # a 422
    after = client.get("/dashboard/data").json()

    assert after["requests"]["total"] == 22  # /dashboard/data itself is not counted
    assert after["requests"]["by_status"] == {"200": 21, "422": 1}
    assert after["requests"]["rate_per_s"] > 0
    assert after["requests"]["error_ratio"] == 0
    assert after["predictions"]["total"] == 50
    latency = after["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    shares = training_class_shares(champion_bundle)
    assert shares and sum(shares.values()) == pytest.approx(1.0)
    window = after["predictions"]["window"]
    assert list(window) == champion_bundle.predictor.classes
    assert sum(row["count"] for row in window.values()) == 50
    assert {c: row["training_share"] for c, row in window.items()} == shares
    assert 0 <= after["predictions"]["class_mix_distance"] <= 1
    assert after["model"]["version"] == champion_bundle.version
    assert after["model"]["reloads"] == {"reloaded": 0, "failed": 0}
    assert set(after["prediction_log"]) >= {
        "written",
        "pending",
        "spooled",
        "replayed",
        "lost",
        "rejected",
    }
    sets = after["prediction_set_size"]  # every answer held a prediction set
    assert sets["count"] == 50 and 1 <= sets["mean"] <= 4
    assert after["drift"]["status"] in {"unknown", "ok", "warning", "drift"}


def test_metrics_export_the_training_shares_and_both_reload_outcomes(
    make_client, champion_bundle
):
    body = make_client().get("/metrics").text
    shares = training_class_shares(champion_bundle)
    for name, share in shares.items():
        line = f'serving_model_training_class_share{{predicted_class="{name}"}}'
        value = next(x for x in body.splitlines() if x.startswith(line))
        assert float(value.rsplit(" ", 1)[1]) == pytest.approx(share)
    assert 'serving_model_reloads_total{outcome="failed"} 0.0' in body
    assert 'serving_model_reloads_total{outcome="reloaded"} 0.0' in body


def test_dashboard_page_is_served(make_client):
    page = make_client().get("/dashboard")
    assert page.status_code == 200 and "/static/dashboard.js" in page.text


# --- in Chromium, against uvicorn ------------------------------------------------------
@pytest.fixture(scope="module")
def drift_verdict(trained_project: Path, tmp_path_factory) -> dict:
    """A real drift verdict in the served project: drift_monitoring on a messy batch."""
    batch = messy_batch(SHIPPED_RAW, tmp_path_factory.mktemp("batch") / "batch.csv")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PUSHGATEWAY_URL", raising=False)
        run_kedro(
            trained_project,
            ["drift_monitoring"],
            env="test",
            runtime_params={"drift_batch": str(batch)},
        )
    return json.loads(
        (trained_project / "data/08_reporting/drift_report.json").read_text()
    )


def _number(page, selector: str) -> float:
    return float(page.text_content(selector).replace(",", ""))


@pytest.mark.browser
def test_dashboard_page_shows_numbers_change(
    drift_verdict, uvicorn_server, offline_page, raw_records
):
    url, page = uvicorn_server.url, offline_page
    page.goto(f"{url}/dashboard")
    page.wait_for_selector("body[data-updates]", timeout=15_000)
    before = _number(page, "#prediction-total")
    requests_before = _number(page, "#request-total")
    with httpx.Client(base_url=url, timeout=30) as client:
        for record in raw_records[:40]:
            client.post("/predict", json=record)
        client.post("/predict/batch", json={"records": raw_records[40:140]})
    page.wait_for_function(
        f"Number(document.getElementById('prediction-total').textContent"
        f".replace(/,/g, '')) >= {before + 140}",
        timeout=15_000,
    )
    assert _number(page, "#request-total") >= requests_before + 41
    assert _number(page, "#request-rate") > 0
    assert page.text_content("#p99").endswith("ms")
    rows = page.query_selector_all("#class-mix tbody tr")
    assert len(rows) == 4
    assert all(r.query_selector_all("td")[3].text_content() != "\u2013" for r in rows)
    assert page.text_content("#drift-status") == drift_verdict["status"] == "drift"
    reasons = [li.text_content() for li in page.query_selector_all("#drift-reasons li")]
    assert reasons == drift_verdict["reasons"]
    assert "v" in page.text_content("#model-version")
    assert page.is_visible("#set-size")  # the champion answers prediction sets
    assert 1 <= _number(page, "#set-size-mean") <= 4
    updates = int(page.get_attribute("body", "data-updates"))
    page.wait_for_function(  # one more refresh: the rate chart has its second point
        f"Number(document.body.dataset.updates) > {updates}", timeout=15_000
    )
    page.screenshot(path="/tmp/serving_dashboard.png", full_page=True)
    assert not page.blocked and not page.console_errors


def test_dashboard_shows_the_spool_counters_and_set_size_once_exported(make_client):
    """The spool's counters as /metrics exports them; the set size once observed."""
    client = make_client()
    service = client.app.state.service
    assert client.get("/dashboard/data").json()["prediction_set_size"] is None
    log = service.prediction_log
    log.spooled, log.lost, log.rejected = 7, 2, 1
    service.metrics.observe_set_sizes("test", [1, 2, 2, 3])
    data = client.get("/dashboard/data").json()
    assert data["prediction_log"]["spooled"] == 7
    assert data["prediction_log"]["lost"] == 2
    assert data["prediction_log"]["rejected"] == 1
    assert data["prediction_set_size"] == {"mean": 2.0, "count": 4}
