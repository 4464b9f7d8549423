"""The service in a real uvicorn process on 127.0.0.1: load with a reload in the
middle, the page in headless Chromium, limits over real sockets, graceful shutdown.

The last test stops the server (SIGTERM) to check that shutdown writes the log; it
stays last in this module.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections import Counter

import httpx
import pytest
from sqlalchemy import create_engine, text

from student_performance.core.conformal import describe_set
from tests.e2e.background import wait_until
from tests.serving.conftest import ADMIN_KEY, post_predictions, register_new_champion

logger = logging.getLogger(__name__)
pytestmark = pytest.mark.server

# Answers each client gets before the reload and after it; how long that may take.
CLIENTS, BEFORE_RELOAD, AFTER_RELOAD, DEADLINE_S = 8, 40, 40, 120.0


def _predicted_total(server_url: str) -> float:
    body = httpx.get(f"{server_url}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line.startswith("serving_predictions_total{")
    )


def _client_loop(
    url: str, index: int, records: list[dict], stop: threading.Event, out: list
) -> None:
    """Note each status and the version that answered (header and body)."""

    def answered(response: httpx.Response) -> None:
        version = response.json().get("model_version")
        out.append(
            (response.status_code, response.headers.get("X-Model-Version"), version)
        )

    def failed(err: Exception) -> None:
        out.append((0, None, repr(err)))

    post_predictions(url, index, CLIENTS, records, stop, answered, failed)


@pytest.mark.slow
def test_concurrent_clients_see_no_failure_across_a_reload(
    uvicorn_server, serving_model_name, raw_records
):
    url = uvicorn_server.url
    old = httpx.get(f"{url}/health").json()["model_version"]
    stop = threading.Event()
    seen: list[list] = [[] for _ in range(CLIENTS)]
    threads = [
        threading.Thread(target=_client_loop, args=(url, i, raw_records, stop, seen[i]))
        for i in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    try:
        wait_until(
            lambda: all(len(c) >= BEFORE_RELOAD for c in seen),
            "answers before",
            DEADLINE_S,
        )
        new = register_new_champion(serving_model_name)
        reload = httpx.post(
            f"{url}/admin/reload", headers={"X-API-Key": ADMIN_KEY}, timeout=120
        )
        counts = [len(c) for c in seen]
        wait_until(
            lambda: all(
                len(c) >= n + AFTER_RELOAD for c, n in zip(seen, counts, strict=True)
            ),
            "answers after the reload",
            DEADLINE_S,
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)

    answers = [a for client in seen for a in client]
    failures = [a for a in answers if a[0] != 200]
    versions = Counter(a[1] for a in answers)
    logger.info(
        "Load: %d requests by %d clients, %d failed, versions %s",
        len(answers),
        CLIENTS,
        len(failures),
        dict(versions),
    )
    assert reload.status_code == 200, reload.text
    assert reload.json()["model_version"] == new != old
    assert not failures, failures[:5]
    assert set(versions) == {old, new}
    assert all(header == body for _, header, body in answers)
    for client in seen:  # atomic swap: once a client saw the new model, never the old
        order = [version for _, version, _ in client]
        first_new = order.index(new) if new in order else len(order)
        assert set(order[first_new:]) <= {new}


def test_limits_hold_over_real_sockets(uvicorn_server):
    url = uvicorn_server.url

    declared = httpx.post(f"{url}/predict", content=b" " * 1_100_000)

    def chunks():
        for _ in range(40):
            yield b" " * 50_000

    streamed = httpx.post(f"{url}/predict/batch", content=chunks())
    after = httpx.post(f"{url}/predict", json={"Gender": "male"})
    bad = httpx.post(f"{url}/predict", json={"Gender": "robot"})
    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert after.status_code == 200
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "Gender"


def _fill(page, record: dict) -> None:
    for name, value in record.items():
        page.select_option(f'select[name="{name}"]', value)


@pytest.mark.browser
def test_page_form_predicts_and_shows_probabilities(uvicorn_server, offline_page):
    url, page = uvicorn_server.url, offline_page
    record = {
        "Gender": "female",
        "Caste": "General",
        "coaching": "WA",
        "time": "THREE",
        "Class_ten_education": "CBSE",
        "twelve_education": "CBSE",
        "medium": "ENGLISH",
        "Class_ X_Percentage": "Excellent",
        "Class_XII_Percentage": "Vg",
        "Father_occupation": "ENGINEER",
        "Mother_occupation": "SCHOOL_TEACHER",
    }

    page.goto(f"{url}/")
    page.wait_for_selector("body[data-ready=true]", timeout=15_000)
    _fill(page, record)
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])", timeout=15_000)
    page.screenshot(path="/tmp/serving_page.png", full_page=True)

    expected = httpx.post(f"{url}/predict", json=record).json()
    assert page.text_content("#predicted-class") == expected["prediction"]
    shown = {
        row.get_attribute("data-class"): float(
            row.query_selector("td.value").text_content().rstrip(" %")
        )
        for row in page.query_selector_all("#probabilities tbody tr")
    }
    assert shown == pytest.approx(
        {c: 100 * p for c, p in expected["probabilities"].items()}, abs=0.051
    )
    assert f"v{expected['model_version']}" in page.text_content("#answered-by")
    assert page.text_content("#prediction-set") == describe_set(
        expected["prediction_set"],
        expected["prediction_set_level"],
        list(expected["probabilities"]),
    )
    assert "most probable" in page.text_content("#decision-rule")
    explained = httpx.post(f"{url}/predict?explain=true", json=record).json()
    contributions = explained["explanation"]["contributions"]
    top = [name for name, value in contributions.items() if abs(value) >= 0.005][:3]
    shown_reasons = page.query_selector_all("#reasons-list li")
    assert [li.get_attribute("data-feature") for li in shown_reasons] == top
    assert "moved this answer most" in page.text_content("#reasons-intro")
    assert page.locator("select").count() == len(record)
    assert not page.blocked and not page.console_errors


@pytest.mark.browser
def test_docs_render_offline_with_swagger_ui_served_locally(
    uvicorn_server, offline_page
):
    """/docs loads Swagger UI from the service itself: with the network blocked the
    page renders every operation of /openapi.json."""
    pytest.importorskip(
        "fastapi_offline", reason="Swagger UI's assets: fastapi-offline"
    )
    url, page = uvicorn_server.url, offline_page
    operations = httpx.get(f"{url}/openapi.json").json()["paths"]

    page.goto(f"{url}/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=15_000)

    shown = {
        block.get_attribute("data-path") or block.text_content()
        for block in page.query_selector_all(".opblock-summary-path")
    }
    assert shown == set(operations)
    assert page.blocked == []
    assert page.console_errors == []


def test_sigterm_writes_every_answered_prediction_to_the_log(uvicorn_server):
    url = uvicorn_server.url
    for _ in range(5):
        httpx.post(f"{url}/predict", json={"Caste": "SC"})
    predicted = _predicted_total(url)

    code = uvicorn_server.stop()

    engine = create_engine(uvicorn_server.log_url)
    with engine.connect() as connection:
        logged = connection.execute(
            text("SELECT COUNT(*) FROM prediction_log")
        ).scalar()
    engine.dispose()
    # uvicorn shuts down gracefully, then re-raises the signal it caught
    assert code in {0, -signal.SIGTERM}
    assert "Application shutdown complete" in uvicorn_server.output.read_text()
    assert logged == predicted
