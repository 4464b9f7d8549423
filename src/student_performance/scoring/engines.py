"""The two engines: score pieces in this process (pandas) or on a Dask cluster.

Both run ``score.score_piece`` on the pieces of ``RawBatch.pieces``, so they agree
record for record, and both hand back steps: finished pieces, each with its scored
records, its rejected records and its counts, which the scoring node yields to Kedro
to save. The pandas engine gives one piece per step, as pandas frames.

Kedro 1.7 ships no Dask runner (the docs' example runner fails on 1.7), so Dask lives
inside the scoring node: the input becomes a Dask DataFrame (``dd.from_map`` over the
pieces), scored with ``map_partitions`` on a ``distributed.Client``; finished pieces
come back as futures of their results on the workers, and the catalog's
``dask_parts.RunDaskPartitionsDataset`` entries (``conf/dask``) have the workers pick
and write their records. The client is the default one while the node (and so its
saves) runs, and is closed after them.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

from student_performance.batch.reader import Piece, RawBatch
from student_performance.batch.records import empty_piece
from student_performance.scoring.registered import ScoringModel
from student_performance.scoring.score import (
    count_piece,
    rejected_records,
    result_columns,
    score_piece,
    scored_records,
    split_results,
)

# A step: finished pieces, each with its scored records, its rejected records (pandas
# frames, or Dask DataFrames over data on the workers) and its ``count_piece``.
Step = list[tuple[Piece, Any, Any, dict[str, Any]]]

# The modules a worker's tasks need, imported once each worker is up
# (``batch.cluster.dask_client``'s ``preload``).
WORKER_MODULES = (
    score_piece.__module__,
    "dask.dataframe",
    "student_performance.scoring.dask_parts",
)


def run_pandas(
    batch: RawBatch, pieces: list[Piece], model: ScoringModel, stamp: dict
) -> Iterator[Step]:
    """Read and score the pieces one after another, in this process: one per step."""
    features = model.dataset.feature_names
    for piece in pieces:
        raw = batch.read_piece(piece, features)
        result = score_piece(raw, model.model, model.schema, stamp, model.sets)
        yield [(piece, *split_results(result), count_piece(result))]


def _submit(
    batch: RawBatch, pieces: list[Piece], model: ScoringModel, stamp: dict, client: Any
) -> tuple[list[Any], list[Any]]:
    """Futures of every piece's ``score_piece`` output and of its counts."""
    import dask.dataframe as dd  # noqa: PLC0415

    features = model.dataset.feature_names
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
        meta=result_columns(model.model, model.schema, stamp, model.sets),
        enforce_metadata=False,
    )
    # One future per partition, in partition order; the graph is optimised first, so
    # a piece's read and scoring are one task. Each output's records are picked out
    # of it by the task that writes them (RunDaskPartitionsDataset): every task more
    # per piece (a split, a Dask DataFrame's to_parquet) cost 5-15 % of the
    # throughput on two workers, and Dask DataFrame operations per piece cost the
    # driver tens of milliseconds of graph building each.
    results = client.compute(scored.to_delayed(), priority=-1)
    # Each piece's counts, taken where it lies (a value_counts over the whole frame
    # would shuffle); holding these small futures does not hold the results.
    counts = client.map(count_piece, results, pure=False)
    if sys.stderr.isatty():
        from distributed import progress  # noqa: PLC0415

        threading.Thread(
            target=progress, args=(counts,), kwargs={"multi": False}, daemon=True
        ).start()
    return results, counts


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
    on the worker), scored with ``map_partitions(score_piece)``; each partition (its
    read and its scoring, one task) is submitted at once at a low priority, so the
    workers keep scoring while the caller has finished pieces written (the writes, at
    the default priority, go first). A finished piece leaves the workers' memory once
    the caller has let go of it. Only counts come back here. A terminal also gets
    Dask's progress bar.

    Args:
        batch: The input.
        pieces: Its plan (at least one piece).
        model: The model, its schema and its prediction-set calibration.
        stamp: ``model_name``, ``model_version``, ``scored_at``.
        client: The ``distributed.Client`` (``batch.cluster.dask_client``).
        window: Pieces per window.

    Yields:
        Steps of ``window`` pieces, as they finish; their scored and rejected records
        are each a pair: the ``distributed.Future`` of the piece's ``score_piece``
        output on the workers and the function picking them out of it
        (``scored_records``, ``rejected_records``).

    Raises:
        Exception: A piece's own error, re-raised here when its window is reached.
    """
    from distributed import as_completed  # noqa: PLC0415

    results, counts = _submit(batch, pieces, model, stamp, client)
    # Windows of pieces in the order they finish (the scheduler picks the order);
    # the files are named after their pieces, so the output does not depend on it.
    index = {future.key: i for i, future in enumerate(counts)}
    for finished in _windows(as_completed(counts), window):
        chosen = sorted(index[future.key] for future in finished)
        yield [  # a piece that failed raises here, in .result()
            (
                pieces[i],
                (results[i], scored_records),
                (results[i], rejected_records),
                counts[i].result(),
            )
            for i in chosen
        ]
        for i in chosen:  # handed over: forgotten once written and let go of
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
