"""Dask DataFrames on a cluster written piece by piece during one run, by the workers.

The Dask engine of batch scoring yields a few finished pieces at a time, as Dask
DataFrames whose data is on the workers. kedro-datasets' ``dask.ParquetDataset``
writes one collection per save, numbered ``part.0`` on, so a second save would
overwrite the first's files; ``RunDaskPartitionsDataset`` names each file after its
piece and, like ``parts.RunPartitionedDataset``, replaces the folder on its first save
in a run and adds files on the following ones. Its own module: importing Dask costs
about half a second, which only ``--env dask`` runs pay.
"""

from __future__ import annotations

from typing import Any, ClassVar

import fsspec
from kedro_datasets.dask import ParquetDataset


class RunDaskPartitionsDataset(ParquetDataset):
    """Named Dask DataFrames saved as ``<filepath>/<name>.parquet`` by the workers.

    A save takes ``{name: dask DataFrame of one partition}`` (the shape of a
    ``PartitionedDataset`` save) and writes every partition in one ``dask.compute``
    on the current client, each file by the worker holding its data. The first save of
    a run empties the folder; later saves add files. Loads as one Dask DataFrame
    (``dask.ParquetDataset``). ``save_args`` go to ``to_parquet``.

    Example catalog entry::

        pred_scored_records:
          type: student_performance.scoring.RunDaskPartitionsDataset
          filepath: data/07_model_output/scored
    """

    DEFAULT_SAVE_ARGS: ClassVar[dict[str, Any]] = {"write_index": False}

    def __init__(self, **kwargs: Any) -> None:
        """Create the dataset (arguments of ``kedro_datasets.dask.ParquetDataset``)."""
        super().__init__(**kwargs)
        self._replaced = False

    def save(self, data: dict[str, Any]) -> None:
        """Write the partitions; the first call of a run first removes the old ones."""
        import dask  # noqa: PLC0415

        fs, root = fsspec.core.url_to_fs(str(self._filepath), **self.fs_args)
        if not self._replaced:
            if fs.exists(root):
                fs.rm(root, recursive=True)
            self._replaced = True
        fs.makedirs(root, exist_ok=True)
        writes = [
            frame.to_parquet(
                self._filepath,
                storage_options=self.fs_args,
                name_function=lambda _, name=name: f"{name}.parquet",
                compute=False,
                **self._save_args,
            )
            for name, frame in data.items()
        ]
        dask.compute(*writes)
