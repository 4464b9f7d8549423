"""The prediction log's spool: rows the database cannot take wait on disk, are replayed
in answer order (also after a restart), never twice, and are lost only when the
spool is full. Database faults are injected into a real SQLite log with SQLAlchemy's
cursor events; no model is needed."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, exc, inspect, text

from student_performance.serving.config import ServingParams
from student_performance.serving.log_table import LogEntry
from student_performance.serving.metrics import ServingMetrics
from student_performance.serving.prediction_log import PredictionLog
from student_performance.serving.spool import Spool
from tests.e2e.background import wait_until

FEATURES = ["Gender", "Caste"]
_DEADLINE_S = 20


def _entry(*request_ids: str) -> LogEntry:
    return LogEntry(
        logged_at=datetime.now(UTC),
        endpoint="predict",
        model_name="m",
        model_version="1",
        request_ids=list(request_ids),
        payloads=[{"gender": "male", "Caste": None} for _ in request_ids],
        keys={"gender": "Gender", "Caste": "Caste"},
        features=FEATURES,
        values=[("Male", None) for _ in request_ids],
        classes=["no", "yes"],
        labels=["yes" for _ in request_ids],
        probabilities=[[0.25, 0.75] for _ in request_ids],
        latency_ms=1.0,
        sets=["no|yes" for _ in request_ids],
    )


class Outage:
    """Makes every statement of an engine fail (as a lost connection does) while on."""

    def __init__(self, engine) -> None:
        self.down = threading.Event()
        event.listen(engine, "before_cursor_execute", self._check)

    def _check(self, _conn, _cursor, statement, parameters, _context, _many) -> None:
        if self.down.is_set():
            raise exc.OperationalError(statement, parameters, ConnectionError("down"))


def _logged(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        ids = connection.execute(
            text("SELECT request_id FROM prediction_log ORDER BY id")
        ).scalars()
        found = list(ids)
    engine.dispose()
    return found


def _wait_until(condition, what: str) -> None:
    wait_until(condition, what, _DEADLINE_S, interval=0.02)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'log.sqlite'}"


def _log(url: str, spool: Spool | None, **kwargs) -> PredictionLog:
    return PredictionLog(
        url,
        "prediction_log",
        FEATURES,
        flush_interval_s=0.01,
        spool=spool,
        retry_interval_s=0.05,
        **kwargs,
    )


def test_spool_is_a_bounded_fifo_that_survives_reopening(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite", max_rows=3)

    stored = spool.append([(5, {"n": 5}), (7, {"n": 7})])
    refused = spool.append([(8, {"n": 8}), (9, {"n": 9})])
    spool.remove([5])
    spool.close()
    again = Spool(tmp_path / "spool.sqlite", max_rows=3)

    assert (stored, refused) == (2, 1)
    assert again.rows == 2
    assert again.last_seq == 8
    assert again.head(10, below=100) == [(7, {"n": 7}), (8, {"n": 8})]
    assert again.head(10, below=8) == [(7, {"n": 7})]
    again.close()


def test_rows_wait_in_the_spool_during_an_outage_and_are_replayed_in_order(
    url, tmp_path
):
    log = _log(url, Spool(tmp_path / "spool.sqlite", 1000))
    outage = Outage(log.engine)
    log.start()
    log.submit(_entry("a"))
    assert log.flush()
    outage.down.set()

    for name in ("b", "c", "d"):
        log.submit(_entry(name))
    log.submit(_entry("e-0", "e-1"))
    _wait_until(lambda: log.spool.rows == 5, "five rows in the spool")  # noqa: PLR2004
    during = log.status()
    outage.down.clear()
    _wait_until(lambda: log.spool.rows == 0, "the spool replayed")
    log.submit(_entry("f"))
    log.close()

    assert during["database_ok"] is False
    assert during["in_spool"] == during["spooled"] == 5  # noqa: PLR2004
    assert _logged(url) == ["a", "b", "c", "d", "e-0", "e-1", "f"]
    assert (log.spooled, log.replayed, log.lost) == (5, 5, 0)


def test_a_restart_replays_what_the_spool_holds(url, tmp_path):
    path = tmp_path / "spool.sqlite"
    first = _log(url, Spool(path, 1000))
    outage = Outage(first.engine)
    outage.down.set()
    first.start()
    for name in ("a", "b", "c"):
        first.submit(_entry(name))
    first.close()  # the database is still down: the rows stay on disk
    assert Spool(path, 1000).rows == 3  # noqa: PLR2004

    second = _log(url, Spool(path, 1000))
    second.start()
    second.submit(_entry("d"))
    _wait_until(lambda: second.spool.rows == 0, "the spool replayed")
    second.close()

    assert _logged(url) == ["a", "b", "c", "d"]
    assert second.replayed == 3  # noqa: PLR2004
    engine = create_engine(url)
    with engine.connect() as connection:
        sets = connection.execute(
            text("SELECT prediction_set FROM prediction_log")
        ).scalars()
        assert list(sets) == ["no|yes"] * 4  # the spooled rows keep their sets
    engine.dispose()


def test_rows_beyond_the_bound_are_lost_counted_logged_and_exported(
    url, tmp_path, caplog
):
    log = _log(url, Spool(tmp_path / "spool.sqlite", max_rows=3))
    outage = Outage(log.engine)
    outage.down.set()
    log.start()

    with caplog.at_level(logging.WARNING):
        for name in ("a", "b", "c", "d", "e"):
            log.submit(_entry(name))
        assert log.flush()
    metrics = ServingMetrics(lambda: log).render().decode()
    outage.down.clear()
    _wait_until(lambda: log.spool.rows == 0, "the spool replayed")
    log.close()

    assert (log.spooled, log.lost) == (3, 2)
    assert _logged(url) == ["a", "b", "c"]
    assert "prediction_log_rows_lost_total 2.0" in metrics
    assert "prediction_log_rows_spooled_total 3.0" in metrics
    assert "prediction_log_spool_rows 3.0" in metrics
    assert any(
        r.levelno == logging.WARNING and "rows lost" in r.getMessage()
        for r in caplog.records
    )


def test_a_full_queue_spools_rows_and_keeps_their_order(url, tmp_path):
    log = _log(url, Spool(tmp_path / "spool.sqlite", 1000), queue_size=1)

    for name in ("a", "b", "c", "d"):  # the writer is not running yet: b-d overflow
        log.submit(_entry(name))
    assert log.spooled == 3  # noqa: PLR2004
    log.start()
    _wait_until(lambda: log.spool.rows == 0 and not log.pending, "all written")
    log.close()

    assert _logged(url) == ["a", "b", "c", "d"]
    assert log.lost == 0


def test_replaying_rows_the_database_already_committed_writes_them_once(url, tmp_path):
    """A batch committed just before its connection failed is spooled all the same;
    its replay must not write it twice."""
    spool = Spool(tmp_path / "spool.sqlite", 1000)
    log = _log(url, spool)
    log.start()
    log.submit(_entry("a", "b"))
    assert log.flush()
    engine = create_engine(url)
    with engine.connect() as connection:
        committed = [
            dict(r._mapping)
            for r in connection.execute(text("SELECT * FROM prediction_log"))
        ]
    engine.dispose()
    spool.append([(1, committed[0]), (2, committed[1])])  # a and b: seq 1 and 2

    log.submit(_entry("c"))
    _wait_until(lambda: spool.rows == 0, "the spool replayed")
    log.close()

    assert _logged(url) == ["a", "b", "c"]
    assert (log.replayed, log.rejected) == (3, 0)  # a, b skipped by ON CONFLICT


def test_a_table_of_an_older_version_gets_the_new_columns_and_keeps_its_rows(
    url, tmp_path
):
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE prediction_log (id INTEGER PRIMARY KEY, request_id "
                "VARCHAR(100) NOT NULL, logged_at DATETIME NOT NULL, endpoint "
                "VARCHAR(32) NOT NULL, model_name VARCHAR(200) NOT NULL, model_version "
                "VARCHAR(32) NOT NULL, inputs_raw JSON NOT NULL, inputs_clean JSON NOT "
                "NULL, Gender TEXT, prediction VARCHAR(200) NOT NULL, probabilities "
                "JSON NOT NULL, latency_ms FLOAT NOT NULL)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO prediction_log VALUES (1, 'old', '2025-01-01 00:00:00', "
                "'predict', 'm', '1', '{}', '{}', 'male', 'yes', '{}', 1.0)"
            )
        )

    log = _log(url, Spool(tmp_path / "spool.sqlite", 1000))
    log.start()
    log.submit(_entry("new"))
    log.close()

    columns = {c["name"] for c in inspect(engine).get_columns("prediction_log")}
    unique = [i for i in inspect(engine).get_indexes("prediction_log") if i["unique"]]
    engine.dispose()
    assert {"log_key", "prediction_set", "Caste"} <= columns
    assert [i["column_names"] for i in unique] == [["log_key"]]
    assert _logged(url) == ["old", "new"]


def test_a_row_the_database_refuses_is_rejected_without_holding_up_the_rest(
    url, tmp_path
):
    log = _log(url, Spool(tmp_path / "spool.sqlite", 1000))

    # A request id no hexadecimal log key can contain (one once did hold "bad").
    def refuse_bad(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if "INSERT" in statement and "refuse-me" in str(parameters):
            raise exc.IntegrityError(statement, parameters, ValueError("bad row"))

    event.listen(log.engine, "before_cursor_execute", refuse_bad)
    log.start()
    log.submit(_entry("a", "refuse-me", "c"))
    _wait_until(lambda: log.rejected and not log.spool.rows, "the bad row rejected")
    log.submit(_entry("d"))
    log.close()

    assert _logged(url) == ["a", "c", "d"]
    assert (log.rejected, log.replayed, log.lost) == (1, 2, 0)  # a and c replayed


def test_the_spool_path_is_relative_to_the_project_unless_absolute(tmp_path):
    base = {"project_path": tmp_path, "tracking_uri": "sqlite://", "model_name": "m"}
    default = ServingParams.model_validate(base)
    elsewhere = ServingParams.model_validate(
        base | {"prediction_log": {"spool": {"path": "/var/spool/log.sqlite"}}}
    )

    assert default.spool_path() == (
        tmp_path / "data/07_model_output/prediction_log_spool.sqlite"
    )
    assert elsewhere.spool_path() == Path("/var/spool/log.sqlite")
