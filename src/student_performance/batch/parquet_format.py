"""Parquet files of a batch: planned into pieces of whole row groups, read by piece."""

from __future__ import annotations

import logging
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa

from student_performance.batch.records import RAW_RECORD, shaped

logger = logging.getLogger(__name__)

_AS_STRING = {  # Arrow text to pandas' "string" dtype without a copy through Python
    pa.large_string(): pd.StringDtype("pyarrow"),
    pa.string(): pd.StringDtype("pyarrow"),
}


def parquet_metadata(path: str) -> Any:
    """The file's Parquet metadata (schema and row groups; no data is read)."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    with fsspec.open(path, "rb") as stream:
        return pq.ParquetFile(stream).metadata


def parquet_pieces(path: str, chunk_rows: int) -> tuple[list[str], list[tuple]]:
    """The file's columns, and (first group, stop group, first row, rows) pieces."""
    meta = parquet_metadata(path)
    names = list(meta.schema.names)
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    pieces, first, row = [], 0, 1
    while first < len(sizes):
        stop, rows = first + 1, sizes[first]
        while stop < len(sizes) and rows + sizes[stop] <= chunk_rows:
            rows += sizes[stop]
            stop += 1
        if rows > chunk_rows:
            logger.warning(
                "%s: a row group of %d rows is larger than chunk_rows=%d: read whole",
                path,
                rows,
                chunk_rows,
            )
        pieces.append((first, stop, row, rows))
        row += rows
        first = stop
    return names, pieces


def read_parquet_groups(
    path: str, groups: range, first_line: int, features: list[str]
) -> pd.DataFrame:
    """Row groups ``groups`` of a file, in the common shape (``records``)."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    with fsspec.open(path, "rb") as stream:
        table = pq.ParquetFile(stream).read_row_groups(list(groups), columns=features)
    values: dict[str, Any] = {
        name: table.column(name)
        .cast("large_string")
        .to_pandas(types_mapper=_AS_STRING.get)
        for name in features
    }
    values[RAW_RECORD] = [None] * table.num_rows
    lines = np.arange(first_line, first_line + table.num_rows)
    return shaped(values, path, lines, features)
