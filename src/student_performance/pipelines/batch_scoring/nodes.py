"""Nodes of the batch_scoring pipeline: raw records in, predictions and rejects out.

``score_batch`` is a generator node: Kedro saves each piece it yields (scored records,
rejected records, the running tally) through the catalog before the next piece is
read, so memory holds one piece whatever the size of the input. The reading, scoring
and engines are library code in ``student_performance.scoring``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pandas as pd

from student_performance.scoring.engines import (
    dask_client,
    run_dask,
    run_pandas,
    worker_count,
)
from student_performance.scoring.model import ScoringModel
from student_performance.scoring.score import (
    MODEL_NAME,
    MODEL_VERSION,
    REASON,
    SCORED_AT,
    split_results,
)
from student_performance.scoring.settings import EngineSettings, ReadingSettings
from student_performance.scoring.source import RawBatch

logger = logging.getLogger(__name__)

Parts = dict[str, pd.DataFrame]


def _new_tally(
    batch: RawBatch, model: ScoringModel, engine: EngineSettings, pieces: int
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


def _count(tally: dict[str, Any], scored: pd.DataFrame, rejected: pd.DataFrame):
    tally["rows_in"] += len(scored) + len(rejected)
    tally["scored"] += len(scored)
    tally["rejected"] += len(rejected)
    reasons = tally["rejected_by_reason"]
    for reason, count in rejected[REASON].value_counts().items():
        reasons[str(reason)] = reasons.get(str(reason), 0) + int(count)
    tally["partitions_done"] += 1


def _log_progress(tally: dict[str, Any], expected: int) -> None:
    rate = tally["rows_in"] / max(tally["scoring_seconds"], 1e-9)
    logger.info(
        "Scoring: %d/%d partitions, %d records (%.0f %%), %.0f rows/s",
        tally["partitions_done"],
        tally["partitions_total"],
        tally["rows_in"],
        100 * min(tally["rows_in"] / max(expected, 1), 1.0),
        rate,
    )


def score_batch(
    raw_scoring_batch: RawBatch,
    model_for_scoring: ScoringModel,
    reading: ReadingSettings,
    engine: EngineSettings,
) -> Iterator[tuple[Parts, Parts, dict[str, Any]]]:
    """Score every record of the input, piece by piece, with the pandas or Dask engine.

    Args:
        raw_scoring_batch: The input's files (read lazily, piece by piece).
        model_for_scoring: The registered model and its frozen schema.
        reading: ``chunk_rows``.
        engine: ``name`` (``pandas`` or ``dask``), ``dask`` cluster settings,
            ``progress_step``.

    Yields:
        Per piece: its scored records and its rejected records (one partition each,
        ``part-<piece>``), and the running tally (counts, model, engine, workers,
        timings). At least once, even for an input with no records.
    """
    model, schema = model_for_scoring.model, model_for_scoring.schema
    stamp = {
        MODEL_NAME: model_for_scoring.name,
        MODEL_VERSION: model_for_scoring.version,
        SCORED_AT: pd.Timestamp.now(tz="UTC").floor("us"),
    }
    with ExitStack() as stack:
        started = time.perf_counter()
        client = None
        if engine.name == "dask":
            client = stack.enter_context(dask_client(engine.dask))
        startup = time.perf_counter() - started
        started = time.perf_counter()
        pieces = raw_scoring_batch.pieces(reading.chunk_rows, model_for_scoring.dataset)
        tally = _new_tally(raw_scoring_batch, model_for_scoring, engine, len(pieces))
        tally["startup_seconds"] = round(startup, 3)
        tally["workers"] = worker_count(client) if client is not None else 1
        results = (
            run_dask(
                raw_scoring_batch, pieces, model, schema, stamp, client, engine.dask
            )
            if client is not None
            else run_pandas(raw_scoring_batch, pieces, model, schema, stamp)
        )
        expected, marks = max(sum(p.rows for p in pieces), 1), 1
        for piece, result in results:
            scored, rejected = split_results(result)
            _count(tally, scored, rejected)
            tally["scoring_seconds"] = round(time.perf_counter() - started, 3)
            if tally["rows_in"] >= marks * engine.progress_step * expected or (
                tally["partitions_done"] == tally["partitions_total"]
            ):
                _log_progress(tally, expected)
                while tally["rows_in"] >= marks * engine.progress_step * expected:
                    marks += 1
            name = f"part-{piece.index:05d}"
            yield {name: scored}, {name: rejected}, dict(tally)
        if not pieces:
            yield {}, {}, tally


def build_scoring_report(int_scoring_tally: dict[str, Any]) -> dict[str, Any]:
    """The run's report: counts, model, engine, workers, time and throughput.

    Args:
        int_scoring_tally: ``score_batch``'s last tally.

    Returns:
        The tally's figures plus ``rows_per_second`` (records over the scoring time,
        from the first read to the last piece; the cluster's start-up is
        ``startup_seconds``, apart).

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
