"""Nodes of the batch_scoring pipeline: raw records in, predictions and rejects out.

``score_batch`` is a generator node: Kedro saves each piece it yields (scored records,
rejected records, the running tally) through the catalog before the next piece is
read, so memory holds one piece whatever the size of the input. The scoring and its
engines are library code in ``student_performance.scoring``; reading the input is the
batch layer's (``student_performance.batch``).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from student_performance.batch.cluster import engine_client, worker_count
from student_performance.batch.reader import Piece, RawBatch
from student_performance.batch.settings import EngineParams, ReadingParams
from student_performance.scoring.engines import (
    WORKER_MODULES,
    Step,
    run_pandas,
    score_on_cluster,
)
from student_performance.scoring.registered import ScoringModel
from student_performance.scoring.score import (
    MODEL_NAME,
    MODEL_VERSION,
    SCORED_AT,
)

logger = logging.getLogger(__name__)

Parts = dict[str, pd.DataFrame]


def _new_tally(
    batch: RawBatch, model: ScoringModel, engine: EngineParams, pieces: int
) -> dict[str, Any]:
    return {
        "input": batch.path,
        "files": len(batch.files),
        "rows_in": 0,
        "scored": 0,
        "rejected": 0,
        "rejected_by_reason": {},
        "partitions_done": 0,
        "partitions_total": pieces,
        "model_name": model.name,
        "model_version": model.version,
        "model_alias": model.alias,
        "engine": engine.name,
        "workers": 1,
        "startup_seconds": 0.0,
        "scoring_seconds": 0.0,
    }


def _count(tally: dict[str, Any], counts: dict[str, Any]) -> None:
    """Add one piece's ``engines.count_piece`` to the tally."""
    reasons = tally["rejected_by_reason"]
    for reason, count in counts["rejected_by_reason"].items():
        reasons[reason] = reasons.get(reason, 0) + count
    rejected = sum(counts["rejected_by_reason"].values())
    tally["rows_in"] += counts["rows_in"]
    tally["scored"] += counts["rows_in"] - rejected
    tally["rejected"] += rejected
    tally["partitions_done"] += 1


class _Progress:
    """Logs a line each time another ``step`` of the ``expected`` records is done."""

    def __init__(self, expected: int, step: float) -> None:
        self.expected, self.step, self.marks = max(expected, 1), step, 1

    def update(self, tally: dict[str, Any]) -> None:
        """After a piece: log if ``rows_in`` crossed the next mark or it was the last."""
        done = tally["rows_in"]
        last = tally["partitions_done"] == tally["partitions_total"]
        if done < self.marks * self.step * self.expected and not last:
            return
        while done >= self.marks * self.step * self.expected:
            self.marks += 1
        logger.info(
            "Scoring: %d/%d partitions, %d records (%.0f %%), %.0f rows/s",
            tally["partitions_done"],
            tally["partitions_total"],
            done,
            100 * min(done / self.expected, 1.0),
            done / max(tally["scoring_seconds"], 1e-9),
        )


def score_batch(
    raw_scoring_batch: RawBatch,
    model_for_scoring: ScoringModel,
    reading: ReadingParams,
    engine: EngineParams,
) -> Iterator[tuple[Parts, Parts, dict[str, Any]]]:
    """Score every record of the input, piece by piece, with the pandas or Dask engine.

    Args:
        raw_scoring_batch: The input's files (read lazily, piece by piece).
        model_for_scoring: The registered model, its frozen schema and its
            prediction-set calibration.
        reading: ``chunk_rows``.
        engine: ``name`` (``pandas`` or ``dask``), ``dask`` cluster settings,
            ``progress_step``.

    Yields:
        The scored records and the rejected records of finished pieces (one
        partition per piece, ``part-<piece>``: pandas frames, one piece at a time;
        futures of results on the workers with the function picking the output's
        records, ``dask.pieces_per_save`` at a time, written by the workers when Kedro
        saves them) and the running tally
        (counts, model, engine, workers, timings); last, no records and the final
        tally, timed once every record is written.
    """
    stamp = {
        MODEL_NAME: model_for_scoring.name,
        MODEL_VERSION: model_for_scoring.version,
        SCORED_AT: pd.Timestamp.now(tz="UTC").floor("us"),
    }
    started = time.perf_counter()
    with engine_client(engine, WORKER_MODULES) as client:
        startup, started = time.perf_counter() - started, time.time()
        pieces = raw_scoring_batch.pieces(reading.chunk_rows, model_for_scoring.dataset)
        tally = _new_tally(raw_scoring_batch, model_for_scoring, engine, len(pieces))
        tally["startup_seconds"] = round(startup, 3)
        tally["started_at"] = started  # scoring time counts from here
        tally["workers"] = worker_count(client)
        progress = _Progress(sum(p.rows for p in pieces), engine.progress_step)
        steps = _steps(
            raw_scoring_batch, pieces, model_for_scoring, stamp, client, engine
        )
        for step in steps:
            parts = _parts(step, tally, progress)
            yield *parts, copy.deepcopy(tally)
            # Resumed: Kedro has saved these pieces. Kedro 1.7 splits a multi-output
            # generator with itertools.tee (more_itertools spy/unzip) and one tee copy
            # never advances, so every yielded tuple stays referenced; emptying the
            # partition dicts lets the pieces go (memory then stays flat, here and on
            # the workers).
            for saved in parts:
                saved.clear()
        # Resumed after the last save: every record is written, so the scoring time
        # (first read to last write) ends here; closing the cluster, like starting
        # it, is not scoring. A last step, with no records, carries the final tally.
        tally["scoring_seconds"] = round(time.time() - started, 3)
        yield {}, {}, tally


def _steps(
    batch: RawBatch,
    pieces: list[Piece],
    model: ScoringModel,
    stamp: dict[str, Any],
    client: Any,
    engine: EngineParams,
) -> Iterator[Step]:
    """The engine's steps: pandas here, else the cluster's windows of pieces."""
    if client is None or not pieces:
        return run_pandas(batch, pieces, model, stamp)
    return score_on_cluster(
        batch, pieces, model, stamp, client, engine.dask.pieces_per_save
    )


def _parts(
    step: Step, tally: dict[str, Any], progress: _Progress
) -> tuple[Parts, Parts]:
    """A step's scored and rejected partitions (``part-<piece>``), counted."""
    parts: tuple[Parts, Parts] = ({}, {})
    for piece, scored, rejected, counts in step:
        _count(tally, counts)
        tally["scoring_seconds"] = round(time.time() - tally["started_at"], 3)
        progress.update(tally)
        parts[0][f"part-{piece.index:05d}"] = scored
        parts[1][f"part-{piece.index:05d}"] = rejected
    return parts


def build_scoring_report(int_scoring_tally: dict[str, Any]) -> dict[str, Any]:
    """The run's report: counts, model, engine, workers, time and throughput.

    Args:
        int_scoring_tally: ``score_batch``'s last tally.

    Returns:
        The tally's figures (``scoring_seconds``: from the first read to the last
        write), ``rows_per_second`` (records over those seconds; the cluster's
        start-up is ``startup_seconds``, apart) and ``started_at`` (UTC, ISO 8601).

    Raises:
        ValueError: Rows in differ from scored plus rejected, or partitions are
            missing (a record lost or counted twice).
    """
    tally = dict(int_scoring_tally)
    if tally["rows_in"] != tally["scored"] + tally["rejected"] or tally[
        "rejected"
    ] != sum(tally["rejected_by_reason"].values()):
        raise ValueError(f"scoring counts do not add up: {tally}")
    if tally["partitions_done"] != tally["partitions_total"]:
        raise ValueError(
            f"{tally['partitions_done']} of {tally['partitions_total']} partitions"
        )
    started = tally.pop("started_at", None)
    if started is not None:
        tally["started_at"] = datetime.fromtimestamp(started, UTC).isoformat()
    seconds = tally["scoring_seconds"]
    tally["rows_per_second"] = round(tally["rows_in"] / seconds, 1) if seconds else 0.0
    logger.info(
        "Scored %d of %d records with %s v%s (%s engine, %d workers), rejected %s; "
        "%.1f s, %.0f rows/s",
        tally["scored"],
        tally["rows_in"],
        tally["model_name"],
        tally["model_version"],
        tally["engine"],
        tally["workers"],
        tally["rejected_by_reason"],
        seconds,
        tally["rows_per_second"],
    )
    return tally


def collect_scoring_metrics(rpt_scoring_report: dict[str, Any]) -> dict[str, Any]:
    """The report's figures as MLflow metrics (``scoring.*``).

    Args:
        rpt_scoring_report: ``build_scoring_report``'s output.

    Returns:
        ``{name: {"value": v, "step": 0}}`` for the counts (one per rejection
        reason), workers, seconds and rows per second.
    """
    report = rpt_scoring_report
    figures = {
        key: report[key]
        for key in (
            "rows_in",
            "scored",
            "rejected",
            "workers",
            "startup_seconds",
            "scoring_seconds",
            "rows_per_second",
        )
    }
    figures.update(
        {f"rejected_{k}": v for k, v in report["rejected_by_reason"].items()}
    )
    return {k: {"value": float(v), "step": 0} for k, v in figures.items()}
