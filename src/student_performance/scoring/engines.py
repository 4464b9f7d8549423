"""The two engines: score pieces in this process (pandas) or on a Dask cluster.

Both run ``score.score_piece`` on the pieces of ``RawBatch.pieces`` and hand back
``(piece, result)`` pairs, so they agree record for record. Kedro 1.7 ships no Dask
runner (the docs' example runner fails on 1.7), so Dask lives inside the scoring node:
the input becomes a Dask DataFrame (``dd.from_map`` over the pieces), scored with
``map_partitions`` on a ``distributed.Client``, and finished partitions stream back to
the node, which yields them to Kedro to save through the catalog.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from student_performance.scoring.model import ScoringModel
from student_performance.scoring.score import result_columns, score_piece
from student_performance.scoring.settings import DaskSettings, EngineSettings
from student_performance.scoring.source import Piece, RawBatch, empty_piece

logger = logging.getLogger(__name__)

Scored = Iterator[tuple[Piece, pd.DataFrame]]


def run_pandas(
    batch: RawBatch, pieces: list[Piece], model: Any, schema: dict, stamp: dict
) -> Scored:
    """Read and score the pieces one after another, in this process."""
    features = [f["name"] for f in schema["features"]]
    for piece in pieces:
        yield (
            piece,
            score_piece(batch.read_piece(piece, features), model, schema, stamp),
        )


class ClusterUnreachableError(ConnectionError):
    """The scheduler named by the environment cannot be reached in time."""


@contextmanager
def dask_client(settings: DaskSettings) -> Iterator[Any]:
    """A ``distributed.Client``: the scheduler of the environment, else a local one.

    Args:
        settings: The address variable and timeout, or the local cluster's size.

    Yields:
        The client; it (and a local cluster) is closed on exit.

    Raises:
        ClusterUnreachableError: The address is set but no scheduler with a worker
            answers within ``connect_timeout_s``; the message names the address.
    """
    from distributed import Client, LocalCluster  # noqa: PLC0415

    address = os.environ.get(settings.scheduler_address_env, "").strip()
    cluster = None
    if address:
        timeout = settings.connect_timeout_s
        try:
            client = Client(address, timeout=f"{timeout}s", set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise ClusterUnreachableError(
                f"cannot reach the Dask scheduler at {address} (from "
                f"{settings.scheduler_address_env}) within {timeout:g} s: {err}"
            ) from err
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError) as err:
            client.close()
            raise ClusterUnreachableError(
                f"the Dask scheduler at {address} has no worker after {timeout:g} s"
            ) from err
    else:
        cluster = LocalCluster(
            n_workers=settings.workers,
            threads_per_worker=settings.threads_per_worker,
            processes=True,
            memory_limit=settings.memory_limit,
            dashboard_address=None,
        )
        client = Client(cluster, set_as_default=False)
    try:
        # Workers import the scoring code (pandas, scikit-learn, the project) now,
        # as part of the cluster's start-up, not on their first piece.
        client.run(importlib.import_module, score_piece.__module__)
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def worker_count(client: Any) -> int:
    """Workers the scheduler knows now (1: the pandas engine, no client)."""
    if client is None:
        return 1
    return len(client.scheduler_info().get("workers", {}))


@contextmanager
def engine_client(engine: EngineSettings) -> Iterator[Any]:
    """The Dask client the engine needs (``dask_client``), or ``None`` for pandas."""
    if engine.name != "dask":
        yield None
        return
    with dask_client(engine.dask) as client:
        yield client


def run_engine(
    batch: RawBatch,
    pieces: list[Piece],
    model: ScoringModel,
    stamp: dict,
    client: Any,
    engine: EngineSettings,
) -> Scored:
    """``run_dask`` with a client, else ``run_pandas``."""
    if client is None:
        return run_pandas(batch, pieces, model.model, model.schema, stamp)
    return run_dask(
        batch, pieces, model.model, model.schema, stamp, client, engine.dask
    )


def run_dask(
    batch: RawBatch,
    pieces: list[Piece],
    model: Any,
    schema: dict,
    stamp: dict,
    client: Any,
    settings: DaskSettings,
) -> Scored:
    """Score the pieces as partitions of a Dask DataFrame, results as they finish.

    At most ``in_flight_per_worker`` pieces per worker are submitted at a time, so a
    large input never sits whole in the workers' memory or in this process's.
    """
    import dask.dataframe as dd  # noqa: PLC0415
    from distributed import as_completed  # noqa: PLC0415

    if not pieces:
        return
    features = [f["name"] for f in schema["features"]]
    raw = dd.from_map(
        batch.read_piece,
        pieces,
        features=features,
        meta=empty_piece(features),
        enforce_metadata=False,
    )
    scored = raw.map_partitions(
        score_piece,
        model,
        schema,
        stamp,
        meta=result_columns(model, schema, stamp),
        enforce_metadata=False,
    )
    parts = iter(enumerate(scored.to_delayed()))
    window = settings.in_flight_per_worker * max(worker_count(client), 1)
    running: dict[Any, int] = {}
    finished = as_completed(loop=client.loop)

    def submit() -> None:
        step = next(parts, None)
        if step is not None:
            future = client.compute(step[1])
            running[future] = step[0]
            finished.add(future)

    for _ in range(window):
        submit()
    for future in finished:
        index = running.pop(future)
        result = future.result()
        future.release()
        submit()
        yield pieces[index], result
