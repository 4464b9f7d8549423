"""The batch layer: large raw inputs read in pieces, cleaned, run on an engine.

Batch scoring (``scoring``) and drift monitoring (``drift``) read their inputs through
this package and import nothing of each other; it imports only the core, the schema,
the datasets and the leaf modules. ``reader`` plans files (CSV or Parquet; a file, a
glob or a folder) into pieces and reads one at a time (``csv_format``,
``parquet_format``, in the shape of ``records``); ``cleaning`` types raw text as
training does, once per distinct spelling; ``settings`` holds the reading and engine
parameters; ``cluster`` gives the Dask client of the ``dask`` engine.
"""

from .reader import RawBatch, RawBatchDataset

__all__ = ["RawBatch", "RawBatchDataset"]
