"""A database outage under load loses no prediction: the service in a real uvicorn
process logs to a real PostgreSQL server, which is stopped for 10 s and started again
while 8 clients post predictions for 30 s. Afterwards the log holds exactly one row
per answered record (by request id) and no request got a 5xx. Rows spooled before
the service is killed are replayed by its next start, and a slow database (an INSERT
held by a lock past the write timeout) sends rows to the spool too.

The 30 s of traffic and the 10 s outage are the scenario itself; every wait for a
state (the spool filled, the spool replayed) polls with a deadline.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import Counter

import httpx
import pytest
from sqlalchemy import bindparam, create_engine, text

from student_performance.serving.prediction_log import PredictionLog
from student_performance.serving.spool import Spool
from tests.serving.conftest import post_predictions, start_server
from tests.serving.test_spool import FEATURES, _entry, _wait_until

logger = logging.getLogger(__name__)

CLIENTS, DURATION_S, OUTAGE_AT_S, OUTAGE_S = 8, 30.0, 10.0, 10.0
_REPLAY_DEADLINE_S = 180


def _client_loop(
    url: str, index: int, records: list[dict], stop: threading.Event, out: list
) -> None:
    """Note each status and the request ids answered (a batch's are
    ``<request id>-<i>``); an error, or an answer without ids, counts as failed."""

    def answered(response: httpx.Response) -> None:
        body = response.json()
        ids = (
            [p["request_id"] for p in body["predictions"]]
            if "predictions" in body
            else [body["request_id"]]
        )
        out.append((response.status_code, ids, None))

    def failed(err: Exception) -> None:
        out.append((0, [], repr(err)))

    errors = (httpx.HTTPError, KeyError, ValueError)
    post_predictions(url, index, CLIENTS, records, stop, answered, failed, errors)


def _health(url: str) -> dict:
    return httpx.get(f"{url}/health", timeout=10).json()["prediction_log"]


def _poll(url: str, condition, what: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = _health(url)
        if condition(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}; {state}")
        time.sleep(0.1)


@pytest.mark.slow
def test_a_database_outage_under_load_loses_no_prediction(
    trained_project, serving_model_name, raw_records, postgres_server, tmp_path
):
    server = start_server(
        trained_project,
        serving_model_name,
        tmp_path,
        {"PREDICTION_LOG_URL": postgres_server.url},
    )
    try:
        stop = threading.Event()
        seen: list[list] = [[] for _ in range(CLIENTS)]
        threads = [
            threading.Thread(
                target=_client_loop, args=(server.url, i, raw_records, stop, seen[i])
            )
            for i in range(CLIENTS)
        ]
        start = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(OUTAGE_AT_S)
        postgres_server.stop()
        down_at = time.monotonic()
        during = _poll(
            server.url,
            lambda s: s["in_spool"] > 0 and not s["database_ok"],
            "rows spooled while the database is down",
            OUTAGE_S,
        )
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
        postgres_server.start()
        time.sleep(max(0.0, DURATION_S - (time.monotonic() - start)))
        stop.set()
        for thread in threads:
            thread.join(60)
        elapsed = time.monotonic() - start
        after = _poll(
            server.url,
            lambda s: s["in_spool"] == 0 and s["pending"] == 0,
            "the spool replayed",
            _REPLAY_DEADLINE_S,
        )
    finally:
        server.stop()

    engine = create_engine(postgres_server.url)
    with engine.connect() as connection:
        logged = Counter(
            connection.execute(text("SELECT request_id FROM prediction_log")).scalars()
        )
        keys = connection.execute(
            text("SELECT COUNT(*), COUNT(DISTINCT log_key) FROM prediction_log")
        ).one()
    engine.dispose()
    answers = [a for client in seen for a in client]
    statuses = Counter(status for status, _, _ in answers)
    answered = Counter(i for status, ids, _ in answers if status == 200 for i in ids)  # noqa: PLR2004
    logger.info(
        "Outage: %d requests in %.1f s by %d clients (statuses %s), %d records "
        "answered, %d logged, %d spooled (%d replayed), %d lost; %d in the spool "
        "during the outage",
        len(answers),
        elapsed,
        CLIENTS,
        dict(statuses),
        sum(answered.values()),
        sum(logged.values()),
        after["spooled"],
        after["replayed"],
        after["lost"],
        during["in_spool"],
    )
    assert statuses == {200: len(answers)}, [a for a in answers if a[0] != 200][:5]  # noqa: PLR2004
    assert max(answered.values()) == 1  # server-made request ids: one per record
    assert logged == answered  # every answered record once, nothing else
    assert keys[0] == keys[1]
    assert after["spooled"] > 0
    assert after["lost"] == after["rejected"] == 0


@pytest.mark.slow
def test_rows_spooled_before_a_kill_are_replayed_by_the_next_start(
    trained_project, serving_model_name, raw_records, postgres_server, tmp_path
):
    postgres_server.stop()  # down before the service starts
    env = {"PREDICTION_LOG_URL": postgres_server.url}
    try:
        first = start_server(trained_project, serving_model_name, tmp_path, env)
        try:
            answered = [
                httpx.post(f"{first.url}/predict", json=record).json()["request_id"]
                for record in raw_records[:50]
            ]
            spooled = _poll(
                first.url,
                lambda s: s["in_spool"] == len(answered),
                "every row in the spool",
                60,
            )
        finally:
            os.killpg(first.process.pid, signal.SIGKILL)
            first.process.wait(30)
    finally:
        postgres_server.start()
    second = start_server(trained_project, serving_model_name, tmp_path, env)
    try:
        replayed = _poll(
            second.url, lambda s: s["in_spool"] == 0, "the spool replayed", 60
        )
    finally:
        second.stop()

    engine = create_engine(postgres_server.url)
    with engine.connect() as connection:
        logged = Counter(
            connection.execute(
                text(
                    "SELECT request_id FROM prediction_log WHERE request_id IN :ids"
                ).bindparams(bindparam("ids", expanding=True)),
                {"ids": answered},
            ).scalars()
        )
    engine.dispose()
    assert spooled["database_ok"] is False
    assert replayed["replayed"] == len(answered)
    assert logged == Counter(answered)


@pytest.mark.server
def test_an_insert_slower_than_the_write_timeout_is_spooled_then_replayed(
    postgres_server, tmp_path
):
    log = PredictionLog(
        postgres_server.url,
        "slow_log",
        FEATURES,
        flush_interval_s=0.01,
        spool=Spool(tmp_path / "spool.sqlite", 1000),
        retry_interval_s=0.2,
        write_timeout_s=0.5,
    )
    log.start()
    engine = create_engine(postgres_server.url)
    with engine.connect() as locker:  # holds the lock until its transaction ends
        locker.execute(text("LOCK TABLE slow_log IN ACCESS EXCLUSIVE MODE"))
        log.submit(_entry("a"))
        log.submit(_entry("b"))
        _wait_until(lambda: log.spool.rows == 2, "both rows spooled")  # noqa: PLR2004
        during = log.status()
        locker.rollback()
    _wait_until(lambda: log.spool.rows == 0, "the spool replayed")
    log.close()
    with engine.connect() as connection:
        logged = connection.execute(
            text("SELECT request_id FROM slow_log ORDER BY id")
        ).scalars()
        logged = list(logged)
    engine.dispose()

    assert during["database_ok"] is False
    assert logged == ["a", "b"]
    assert (log.spooled, log.replayed, log.rejected, log.lost) == (2, 2, 0, 0)
