"""Typed parameters of reading a large batch and of the engine that runs its pieces.

Batch scoring (``batch_scoring.reading`` / ``.engine``) and drift monitoring
(``drift_monitoring.reading`` / ``.engine``) read their inputs with the same reader
and run pieces on the same engines; drift's reading adds its own field
(``drift.settings.DriftReadingParams``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from student_performance.frozen import Frozen


class ReadingParams(Frozen):
    """How the input is cut into pieces.

    Attributes:
        chunk_rows: Records per piece (a Parquet piece is whole row groups up to
            this); memory is bounded by a piece, not by the input.
    """

    chunk_rows: int = Field(100_000, ge=1)


class DaskParams(Frozen):
    """The Dask engine's cluster.

    Attributes:
        scheduler_address_env: Environment variable holding a scheduler address
            (``tcp://host:8786``); when set, that cluster is used.
        connect_timeout_s: How long to try to reach that scheduler and its first
            worker before failing with a message naming the address.
        workers: Worker processes of the ``LocalCluster`` started when no address is
            set.
        threads_per_worker: Threads per local worker.
        memory_limit: Per local worker (Dask's spelling, e.g. ``1.5GB``).
        pieces_per_save: Finished pieces handed to the catalog at a time; the workers
            write them in one go and then let them go, while scoring the next.
        local_worker_environ: Environment variables of the local workers, over
            Dask's ``distributed.nanny.pre-spawn-environ`` (``None`` unsets one).
        log_level: Level of Dask's own loggers (``distributed``) in this process
            and the local workers; at ``info`` Dask logs every start and stop of
            the cluster.
    """

    scheduler_address_env: str = "DASK_SCHEDULER_ADDRESS"
    connect_timeout_s: float = Field(10.0, gt=0)
    workers: int = Field(2, ge=1)
    threads_per_worker: int = Field(1, ge=1)
    memory_limit: str = "1.5GB"
    pieces_per_save: int = Field(6, ge=1)
    local_worker_environ: dict[str, str | int | None] = {}
    log_level: Literal["debug", "info", "warning", "error"] = "warning"


class EngineParams(Frozen):
    """Where pieces are scored.

    Attributes:
        name: ``pandas`` (one after another in this process) or ``dask`` (on a
            ``distributed`` cluster).
        dask: The cluster, for ``dask``.
        progress_step: A progress line is logged each time this share of the input
            has been scored.
    """

    name: Literal["pandas", "dask"] = "pandas"
    dask: DaskParams = DaskParams()
    progress_step: float = Field(0.1, gt=0, le=1)
