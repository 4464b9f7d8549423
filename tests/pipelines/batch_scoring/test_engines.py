"""The two engines give one answer: the messy file repeated 20 times with malformed
records, scored in this process and on Dask clusters (a LocalCluster, and a scheduler
and workers started with the ``dask`` commands on loopback)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from student_performance.batch.cluster import ClusterUnreachableError, dask_client
from student_performance.batch.reader import RawBatchDataset
from student_performance.batch.settings import (
    DaskParams,
    EngineParams,
    ReadingParams,
)
from student_performance.pipelines.batch_scoring.nodes import score_batch
from tests.e2e.background import free_port
from tests.scoring.conftest import write_messy_copies

COPIES = 20
DASK = Path(sys.executable).with_name("dask")
START_TIMEOUT_S = 60


def _fetched(part):
    if isinstance(part, tuple):  # the Dask engine's (future, pick)
        future, pick = part
        return pick(future.result())
    return part


def run_node(batch, model, engine: EngineParams, chunk_rows: int = 1000):
    """Every partition ``score_batch`` yields, concatenated, and the last tally.

    The Dask engine's partitions are futures of results on the workers with the
    function picking each output out of them, fetched here before the node resumes
    (Kedro saves them before resuming it).
    """
    scored, rejected, tally = [], [], None
    for scored_parts, rejected_parts, tally in score_batch(
        batch, model, ReadingParams(chunk_rows=chunk_rows), engine
    ):
        for parts, into in ((scored_parts, scored), (rejected_parts, rejected)):
            into += [_fetched(p) for p in parts.values()]
    order = ["source_file", "source_line"]
    return (
        pd.concat(scored).sort_values(order).reset_index(drop=True),
        pd.concat(rejected).sort_values(order).reset_index(drop=True),
        tally,
    )


@pytest.fixture(scope="module")
def big_input(tmp_path_factory, messy_file) -> Path:
    return write_messy_copies(
        messy_file, tmp_path_factory.mktemp("scoring") / "cohort.csv", COPIES
    )


@pytest.fixture(scope="module")
def pandas_result(big_input, scoring_model):
    batch = RawBatchDataset(path=str(big_input)).load()
    return run_node(batch, scoring_model, EngineParams(name="pandas"))


def _assert_same(left, right) -> None:
    scored, rejected, tally = left
    other_scored, other_rejected, other_tally = right
    # everything but the run's time stamp: predictions and probabilities bit for bit
    pd.testing.assert_frame_equal(
        scored.drop(columns="scored_at"),
        other_scored.drop(columns="scored_at"),
        check_exact=True,
    )
    pd.testing.assert_frame_equal(rejected, other_rejected, check_exact=True)
    for key in ("rows_in", "scored", "rejected", "rejected_by_reason"):
        assert tally[key] == other_tally[key], key


def test_pandas_engine_accounts_for_every_record_once(pandas_result, messy_file):
    scored, rejected, tally = pandas_result
    records = (len(messy_file.read_text().splitlines()) - 1) * COPIES + COPIES
    assert tally["rows_in"] == records == len(scored) + len(rejected)
    both = pd.concat([scored, rejected])
    assert not both.duplicated(["source_file", "source_line"]).any()
    assert tally["rejected_by_reason"] == {"malformed_record": 14, "unknown_value": 6}
    assert tally["partitions_done"] == tally["partitions_total"] > 10


@pytest.mark.slow
def test_dask_local_cluster_gives_the_pandas_answer(
    pandas_result, big_input, scoring_model, monkeypatch
):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    batch = RawBatchDataset(path=str(big_input)).load()
    engine = EngineParams(name="dask", dask={"workers": 2, "memory_limit": "1GB"})

    result = run_node(batch, scoring_model, engine)

    _assert_same(result, pandas_result)
    assert result[2]["workers"] == 2 and result[2]["engine"] == "dask"


def _distributed_level() -> int:
    return logging.getLogger("distributed").getEffectiveLevel()


@pytest.mark.slow
def test_the_local_cluster_says_one_line_not_dasks_info_logs(monkeypatch, caplog):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    settings = DaskParams(workers=1, memory_limit="1GB")

    with caplog.at_level(logging.INFO), dask_client(settings) as client:
        in_workers = client.run(_distributed_level)

    said = [r for r in caplog.records if r.levelno < logging.WARNING]
    assert [r.getMessage().split(":")[0] for r in said] == ["Dask cluster ready"]
    assert "workers 1, dashboard http" in said[0].getMessage()
    assert list(in_workers.values()) == [logging.WARNING]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def dask_cluster(tmp_path):
    """``dask scheduler`` and ``dask worker --nworkers 2`` on 127.0.0.1."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    common = {"cwd": tmp_path, "start_new_session": True}
    logs = [open(tmp_path / f"{n}.log", "w") for n in ("scheduler", "worker")]  # noqa: SIM115
    scheduler = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port)]
        + ["--no-dashboard", "--no-show"],
        stdout=logs[0],
        stderr=subprocess.STDOUT,
        **common,
    )
    workers = subprocess.Popen(
        [DASK, "worker", address, "--nworkers", "2", "--nthreads", "1"]
        + ["--no-dashboard", "--memory-limit", "1GB", "--local-directory", tmp_path],
        stdout=logs[1],
        stderr=subprocess.STDOUT,
        **common,
    )
    try:
        yield address
    finally:
        _stop(workers)
        _stop(scheduler)
        for log in logs:
            log.close()


@pytest.mark.slow
def test_dask_cli_cluster_gives_the_pandas_answer(
    pandas_result, big_input, scoring_model, dask_cluster, monkeypatch
):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", dask_cluster)
    engine = EngineParams(name="dask", dask={"connect_timeout_s": START_TIMEOUT_S})
    batch = RawBatchDataset(path=str(big_input)).load()
    deadline = time.monotonic() + START_TIMEOUT_S
    result = run_node(batch, scoring_model, engine)
    while result[2]["workers"] < 2 and time.monotonic() < deadline:  # noqa: PLR2004
        result = run_node(batch, scoring_model, engine)  # the second worker was late

    _assert_same(result, pandas_result)
    assert result[2]["workers"] == 2


@pytest.mark.server  # waits out a real connection timeout
def test_an_unreachable_scheduler_fails_naming_it(
    big_input, scoring_model, monkeypatch
):
    address = f"tcp://127.0.0.1:{free_port()}"
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
    engine = EngineParams(name="dask", dask={"connect_timeout_s": 1})
    batch = RawBatchDataset(path=str(big_input)).load()

    with pytest.raises(ClusterUnreachableError, match=address):
        next(score_batch(batch, scoring_model, ReadingParams(), engine))
