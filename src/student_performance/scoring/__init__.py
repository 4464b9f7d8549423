"""Batch scoring: raw records from large files to predictions, in bounded memory.

Library code of the ``batch_scoring`` pipeline (which only wires it): the lazy reader
of raw files (``source``), the registry model it scores with (``model``), the scoring
of one partition (``score``), the output datasets (``parts``) and the two engines that
run partitions in this process or on a Dask cluster (``engines``). Cleaning and
inference are the core's (``core.inference``) and drift's distinct-spelling cleaning
(``drift.batch.clean_rows``), so a record is read here exactly as in training.
"""

from .model import RegisteredModelDataset, ScoringModel
from .parts import RunPartitionedDataset
from .source import RawBatch, RawBatchDataset

__all__ = [
    "RawBatch",
    "RawBatchDataset",
    "RegisteredModelDataset",
    "RunDaskPartitionsDataset",
    "RunPartitionedDataset",
    "ScoringModel",
]


def __getattr__(name: str):
    """``RunDaskPartitionsDataset`` on first use (it imports Dask, ~0.5 s)."""
    if name == "RunDaskPartitionsDataset":
        from .dask_parts import RunDaskPartitionsDataset  # noqa: PLC0415

        return RunDaskPartitionsDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
