"""Batch scoring: raw records from large files to predictions, in bounded memory.

Library code of the ``batch_scoring`` pipeline (which only wires it): the registry
model it scores with (``registered``), the scoring of one piece (``score``), the
output datasets (``parts``, ``dask_parts``) and the two engines that run pieces in
this process or on a Dask cluster (``engines``). Reading the input, cleaning it and
the cluster are the batch layer's (``student_performance.batch``); inference is the
core's (``core.inference``), so a record is read here exactly as in training.
"""

from .parts import RunPartitionedDataset
from .registered import RegisteredModelDataset, ScoringModel

__all__ = [
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
