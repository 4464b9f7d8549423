"""The two engines: score pieces in this process (pandas) or on a Dask cluster.

Both run ``score.score_piece`` on the pieces of ``RawBatch.pieces``, so they agree
record for record, and both hand back steps: finished pieces, each with its scored
records, its rejected records and its counts, which the scoring node yields to Kedro
to save. The pandas engine gives one piece per step, as pandas frames.

Kedro 1.7 ships no Dask runner (the docs' example runner fails on 1.7), so Dask lives
inside the scoring node: the input becomes a Dask DataFrame (``dd.from_map`` over the
pieces), scored with ``map_partitions`` on a ``distributed.Client``; finished pieces
come back as one-partition Dask DataFrames over their results on the workers, and the
catalog's ``dask_parts.RunDaskPartitionsDataset`` entries (``conf/dask``) have the
workers write them. The client is the default one while the node (and so its saves)
runs, and is closed after them.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from student_performance.scoring.model import ScoringModel
from student_performance.scoring.score import (
    count_piece,
    rejected_records,
    result_columns,
    score_piece,
    scored_records,
    split_results,
)
from student_performance.scoring.settings import DaskSettings, EngineSettings
from student_performance.scoring.source import Piece, RawBatch, empty_piece

logger = logging.getLogger(__name__)

# A step: finished pieces, each with its scored records, its rejected records (pandas
# frames, or Dask DataFrames over data on the workers) and its ``count_piece``.
Step = list[tuple[Piece, Any, Any, dict[str, Any]]]


def run_pandas(
    batch: RawBatch, pieces: list[Piece], model: ScoringModel, stamp: dict
) -> Iterator[Step]:
    """Read and score the pieces one after another, in this process: one per step."""
    features = model.dataset.feature_names
    for piece in pieces:
        raw = batch.read_piece(piece, features)
        result = score_piece(raw, model.model, model.schema, stamp, model.sets)
        yield [(piece, *split_results(result), count_piece(result))]


class ClusterUnreachableError(ConnectionError):
    """The scheduler named by the environment cannot be reached in time."""


@contextmanager
def dask_client(settings: DaskSettings) -> Iterator[Any]:
    """A ``distributed.Client``: the scheduler of the environment, else a local one.

    Args:
        settings: The address variable and timeout, or the local cluster's size.

    Yields:
        The client, the default one until it (and a local cluster) is closed on exit:
        Dask collections computed meanwhile (the catalog writing the outputs) run on
        it.

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
            client = Client(address, timeout=f"{timeout}s", set_as_default=True)
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
        import dask  # noqa: PLC0415

        environ = {
            f"distributed.nanny.pre-spawn-environ.{name}": value
            for name, value in settings.local_worker_environ.items()
        }
        with dask.config.set(environ):  # read by the nannies as they start
            cluster = LocalCluster(
                n_workers=settings.workers,
                threads_per_worker=settings.threads_per_worker,
                processes=True,
                memory_limit=settings.memory_limit,
                dashboard_address=None,
            )
        client = Client(cluster, set_as_default=True)
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


def score_on_cluster(
    batch: RawBatch,
    pieces: list[Piece],
    model: ScoringModel,
    stamp: dict,
    client: Any,
    window: int,
) -> Iterator[Step]:
    """Score every piece on the cluster; hand back finished pieces, ``window`` a step.

    The input becomes a Dask DataFrame (``dd.from_map``: one partition per piece, read
    on the worker), scored with ``map_partitions(score_piece)`` and submitted whole at
    a low priority: the workers keep scoring while the caller has each window written
    (the writes, at the default priority, go first), and a window's results leave the
    workers' memory once the caller lets go of it. Only counts come back here. A
    terminal also gets Dask's progress bar.

    Args:
        batch: The input.
        pieces: Its plan (at least one piece).
        model: The model, its schema and its prediction-set calibration.
        stamp: ``model_name``, ``model_version``, ``scored_at``.
        client: The ``distributed.Client`` (``dask_client``).
        window: Pieces per window.

    Yields:
        Steps of ``window`` pieces, as they finish; their records are one-partition
        Dask DataFrames over their results on the workers (``split_on_cluster``).

    Raises:
        Exception: A piece's own error, re-raised here when its window is reached.
    """
    import dask.dataframe as dd  # noqa: PLC0415
    from distributed import as_completed, futures_of  # noqa: PLC0415

    features = model.dataset.feature_names
    meta = result_columns(model.model, model.schema, stamp, model.sets)
    metas = split_results(meta)
    raw = dd.from_map(
        batch.read_piece,
        pieces,
        features=features,
        meta=empty_piece(features),
        enforce_metadata=False,
    )
    scored = raw.map_partitions(
        score_piece,
        model.model,
        model.schema,
        stamp,
        model.sets,
        meta=meta,
        enforce_metadata=False,
    )
    results = sorted(
        futures_of(client.persist(scored, priority=-1)),
        key=lambda future: future.key[-1],
    )
    # Each piece's counts, taken where it lies (a value_counts over the whole frame
    # would shuffle); holding these small futures does not hold the results.
    counts = client.map(count_piece, results, pure=False)
    if sys.stderr.isatty():
        from distributed import progress  # noqa: PLC0415

        threading.Thread(
            target=progress, args=(counts,), kwargs={"multi": False}, daemon=True
        ).start()
    # Windows of pieces in the order they finish (the scheduler picks the order);
    # the files are named after their pieces, so the output does not depend on it.
    index = {future.key: i for i, future in enumerate(counts)}
    for finished in _windows(as_completed(counts), window):
        chosen = sorted(index[future.key] for future in finished)
        yield [  # a piece that failed raises here, in .result()
            (pieces[i], *split_on_cluster(results[i], meta, metas), counts[i].result())
            for i in chosen
        ]
        for i in chosen:  # written: let the workers forget them
            results[i] = counts[i] = None


def _windows(futures: Iterator[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    window: list[Any] = []
    for future in futures:
        window.append(future)
        if len(window) == size:
            yield window
            window = []
    if window:
        yield window


def split_on_cluster(
    result: Any, meta: pd.DataFrame, metas: tuple[pd.DataFrame, pd.DataFrame]
) -> tuple[Any, Any]:
    """One piece's scored records and rejected ones, as one-partition Dask DataFrames
    over its result on the workers (``split_results``' columns).

    Args:
        result: A ``Future`` of ``score_piece``'s output (``score_on_cluster``).
        meta: ``result_columns``.
        metas: ``split_results(meta)``, the two outputs' shapes.
    """
    import dask.dataframe as dd  # noqa: PLC0415

    frame = dd.from_delayed([result], meta=meta, verify_meta=False)
    meta_scored, meta_rejected = metas
    return (
        frame.map_partitions(scored_records, meta=meta_scored),
        frame.map_partitions(rejected_records, meta=meta_rejected),
    )
