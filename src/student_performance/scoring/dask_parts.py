"""Frames on a cluster written piece by piece during one run, by the workers.

The Dask engine of batch scoring yields a few finished pieces at a time, as
``distributed.Future`` s of pandas frames on the workers. kedro-datasets'
``dask.ParquetDataset`` writes one Dask DataFrame per save, numbered ``part.0`` on, so
a second save would overwrite the first's files; ``RunDaskPartitionsDataset`` names
each file after its piece and, like ``parts.RunPartitionedDataset``, replaces the
folder on its first save in a run and adds files on the following ones. Its own
module: importing Dask costs about half a second, which only ``--env dask`` runs pay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fsspec
import pandas as pd
from kedro_datasets.dask import ParquetDataset


def _write_frame(
    frame: pd.DataFrame, pick: Callable | None, path: str, storage_options: dict
) -> None:
    """One frame (or what ``pick`` takes out of it) as one Parquet file, on the
    worker that holds it."""
    frame = frame if pick is None else pick(frame)
    frame.to_parquet(path, index=False, storage_options=storage_options or None)


class RunDaskPartitionsDataset(ParquetDataset):
    """Named frames on a cluster saved as ``<filepath>/<name>.parquet`` by the workers.

    A save takes ``{name: frame}`` (the shape of a ``PartitionedDataset`` save), where
    a frame is a ``distributed.Future`` of a pandas DataFrame, or a pair of such a
    future and a function picking the frame to write out of it. Each file is picked
    and written (with pandas, without the index) by one task on the worker holding
    the data, on the current client; the save returns once every file is written.
    The first save of a run empties the folder; later saves add files. Loads as one
    Dask DataFrame (``dask.ParquetDataset``).

    Example catalog entry::

        pred_scored_records:
          type: student_performance.scoring.RunDaskPartitionsDataset
          filepath: data/07_model_output/scored
    """

    def __init__(self, **kwargs: Any) -> None:
        """Create the dataset (arguments of ``kedro_datasets.dask.ParquetDataset``)."""
        super().__init__(**kwargs)
        self._replaced = False

    def save(self, data: dict[str, Any]) -> None:
        """Write the partitions; the first call of a run first removes the old ones."""
        from distributed import get_client, wait  # noqa: PLC0415

        fs, root = fsspec.core.url_to_fs(str(self._filepath), **self.fs_args)
        if not self._replaced:
            if fs.exists(root):
                fs.rm(root, recursive=True)
            self._replaced = True
        fs.makedirs(root, exist_ok=True)
        client = get_client()
        writes = [
            client.submit(
                _write_frame,
                *(frame if isinstance(frame, tuple) else (frame, None)),
                f"{self._filepath}/{name}.parquet",
                self.fs_args,
                pure=False,
            )
            for name, frame in data.items()
        ]
        wait(writes)
        for write in writes:
            write.result()  # a write's own error, raised here
