"""Partitioned outputs written piece by piece during one run.

Batch scoring's node is a generator (Kedro saves each yielded piece as it comes, so the
whole output is never in memory). ``PartitionedDataset`` with ``overwrite: true`` would
delete the folder on every one of those saves, and with ``overwrite: false`` the
partitions of an earlier, larger run would stay behind. These datasets replace the
folder on their first save in a run and add partitions on the following ones:
``RunPartitionedDataset`` here, for pandas frames (written by this process), and
``dask_parts.RunDaskPartitionsDataset`` for frames on a cluster (written by its workers).
"""

from __future__ import annotations

from typing import Any

from kedro_datasets.partitions import PartitionedDataset


class RunPartitionedDataset(PartitionedDataset):
    """``partitions.PartitionedDataset``: first save replaces, later saves add.

    Example catalog entry::

        pred_scored_records:
          type: student_performance.scoring.RunPartitionedDataset
          path: data/07_model_output/scored
          dataset: pandas.ParquetDataset
          filename_suffix: .parquet
    """

    def __init__(self, **kwargs: Any) -> None:
        """Create the dataset (arguments of ``PartitionedDataset`` but ``overwrite``)."""
        kwargs.pop("overwrite", None)
        super().__init__(overwrite=True, **kwargs)

    def save(self, data: dict[str, Any]) -> None:
        """Save partitions; the first call of a run first removes the old ones."""
        super().save(data)
        self._overwrite = False
