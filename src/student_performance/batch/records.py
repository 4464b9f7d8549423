"""The one shape every piece of a batch comes out in, whatever its file's format.

``source_file``, ``source_line`` (CSV: the record's first physical line, header = 1;
Parquet: the 1-based row number), the features as text, and ``raw_record``: the line
as written when the record is malformed (a CSV record whose field count differs from
the header's), NA otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

SOURCE_FILE, SOURCE_LINE, RAW_RECORD = "source_file", "source_line", "raw_record"
RAW_COLUMNS = [SOURCE_FILE, SOURCE_LINE]
_AS_STRING = {
    pa.large_string(): pd.StringDtype("pyarrow")
}  # Arrow text as pandas "string"


def empty_piece(features: list[str]) -> pd.DataFrame:
    """A piece with no records (the shape of every piece)."""
    frame = pd.DataFrame(
        {name: pd.Series(dtype="string") for name in [SOURCE_FILE, *features]}
    )
    frame.insert(1, SOURCE_LINE, pd.Series(dtype="int64"))
    frame[RAW_RECORD] = pd.Series(dtype="string")
    return frame


def shaped(
    values: dict[str, Any], path: str, lines: np.ndarray, features: list[str]
) -> pd.DataFrame:
    """A piece in the common shape, from its text columns (and ``raw_record``)."""
    frame = pd.DataFrame(
        {name: pd.array(values[name], dtype="string") for name in features}
    )
    source = pa.repeat(pa.scalar(path, pa.large_string()), len(lines))
    frame.insert(
        0, SOURCE_FILE, pd.array(source.to_pandas(types_mapper=_AS_STRING.get))
    )
    frame.insert(1, SOURCE_LINE, np.asarray(lines, dtype="int64"))
    frame[RAW_RECORD] = pd.array(values[RAW_RECORD], dtype="string")
    return frame
