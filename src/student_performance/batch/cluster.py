"""The Dask cluster an engine runs pieces on: the environment's scheduler, or local.

``dask_client`` connects to the scheduler named by ``DaskParams.scheduler_address_env``
when it is set, else starts a ``LocalCluster``; either way the workers import the
modules their tasks need (given by the caller: batch scoring and drift monitoring
each pass their own) before the first piece, and the client is the default one until
the context closes. ``engine_client`` gives ``None`` for the pandas engine.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from student_performance.batch.settings import DaskParams, EngineParams

logger = logging.getLogger(__name__)


class ClusterUnreachableError(ConnectionError):
    """The scheduler named by the environment cannot be reached in time."""


def _connect(address: str, settings: DaskParams) -> Any:
    """A client of the scheduler at ``address`` with at least one worker."""
    from distributed import Client  # noqa: PLC0415

    timeout = settings.connect_timeout_s
    try:
        client = Client(address, timeout=f"{timeout}s", set_as_default=True)
    except (OSError, TimeoutError) as err:
        raise ClusterUnreachableError(
            f"cannot reach the Dask scheduler at {address} (from "
            f"{settings.scheduler_address_env}) within {timeout:g} s: {err}"
        ) from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (OSError, TimeoutError):
        client.close()
        raise ClusterUnreachableError(
            f"the Dask scheduler at {address} has no worker after {timeout:g} s"
        ) from None
    return client


def _local_cluster(settings: DaskParams) -> Any:
    """A ``LocalCluster`` of ``settings.workers`` processes, quiet unless asked."""
    import dask  # noqa: PLC0415
    from distributed import LocalCluster  # noqa: PLC0415

    environ = {
        f"distributed.nanny.pre-spawn-environ.{name}": value
        for name, value in {
            "DASK_LOGGING__DISTRIBUTED": settings.log_level,
            **settings.local_worker_environ,
        }.items()
    }
    with dask.config.set(environ):  # read by the nannies as they start
        return LocalCluster(
            n_workers=settings.workers,
            threads_per_worker=settings.threads_per_worker,
            processes=True,
            memory_limit=settings.memory_limit,
            dashboard_address=None,
        )


@contextmanager
def dask_client(settings: DaskParams, preload: Sequence[str] = ()) -> Iterator[Any]:
    """A ``distributed.Client``: the scheduler of the environment, else a local one.

    Args:
        settings: The address variable and timeout, or the local cluster's size.
        preload: Modules every worker imports once it is up (what its tasks run):
            on their first piece the imports took 0.4-0.5 s of the run.

    Yields:
        The client, the default one until it (and a local cluster) is closed on exit:
        Dask collections computed meanwhile (the catalog writing the outputs) run on
        it.

    Raises:
        ClusterUnreachableError: The address is set but no scheduler with a worker
            answers within ``connect_timeout_s``; the message names the address.
    """
    from distributed import Client  # noqa: PLC0415

    # Importing distributed sets its loggers to Dask's level (``info`` unless Dask's
    # config says otherwise), over this project's logging.yml; the workers get the
    # level through Dask's config variable in their environment.
    logging.getLogger("distributed").setLevel(settings.log_level.upper())
    address = os.environ.get(settings.scheduler_address_env, "").strip()
    cluster = None if address else _local_cluster(settings)
    client = (
        _connect(address, settings) if address else Client(cluster, set_as_default=True)
    )
    try:
        for module in preload:
            client.run(importlib.import_module, module)
        logger.info(
            "Dask cluster ready: scheduler %s, workers %d, dashboard %s",
            client.scheduler.address,
            worker_count(client),
            client.dashboard_link,
        )
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
def engine_client(engine: EngineParams, preload: Sequence[str] = ()) -> Iterator[Any]:
    """The Dask client the engine needs (``dask_client``), or ``None`` for pandas."""
    if engine.name != "dask":
        yield None
        return
    with dask_client(engine.dask, preload) as client:
        yield client
