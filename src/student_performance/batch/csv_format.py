"""CSV files of a batch: planned into byte ranges of whole lines, read range by range.

A piece is a byte range that starts and ends at line breaks (found by one vectorised
scan of the file), so a piece is read without reading the ones before it. A quoted
field holding a line break is read correctly inside a piece; one that straddles two
pieces yields two malformed records (counted and set aside, not lost).

Records are split as the standard library's ``csv`` module splits them. A piece with
no quote, NUL or line-break character other than ``\n`` (and ``\r\n``), the usual
case, is read by array operations: a line's field count is its commas plus one, so
malformed lines (and their line numbers) are found without parsing, and the others
are parsed by Arrow's CSV reader. Any other piece goes through ``csv`` itself.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from student_performance.batch.records import RAW_RECORD, shaped
from student_performance.datasets import RawDataError

_SCAN_BLOCK = 1 << 24  # bytes read at a time when planning a CSV file
# Bytes after which ``csv`` and ``str.splitlines`` split or quote differently from
# "a comma separates fields, \n ends a line": such a piece takes the ``csv`` path.
_SPECIAL = (b'"', b"\x00", b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e")
_SPECIAL_UTF8 = (b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")  # NEL, LS, PS
_SUSPECT = b"".join(_SPECIAL) + b"\x85\xa8\xa9\r"  # one of their bytes: look closer
_AS_STRING = {  # Arrow text to pandas' "string" dtype without a copy through Python
    pa.large_string(): pd.StringDtype("pyarrow"),
    pa.string(): pd.StringDtype("pyarrow"),
}


def decode(data: bytes, path: str, encoding: str, fallback: str | None) -> str:
    """``data`` as text, in ``encoding`` else ``fallback``; neither: a clear error."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        if not fallback:
            raise RawDataError(
                f"{path}: not valid {encoding} (byte {data[err.start]:#04x}); re-save "
                "it as UTF-8 or set fallback_encoding in the catalog entry"
            ) from None
        return data.decode(fallback)


def csv_header(path: str, encoding: str, fallback: str | None) -> tuple[list, int]:
    """The header's fields and the byte where the first record starts."""
    with fsspec.open(path, "rb") as stream:
        first = stream.readline()
    if not first.strip():
        raise RawDataError(f"{path}: the file is empty (no header row and no data)")
    text = decode(first, path, encoding, fallback).removeprefix("\ufeff")  # a BOM
    fields = next(csv.reader([text]))
    return [f.strip() for f in fields], len(first)


def csv_pieces(path: str, data_start: int, chunk_rows: int) -> list[tuple]:
    """(start, stop, first_line, lines) of pieces of ``chunk_rows`` lines each."""
    fs, root = fsspec.core.url_to_fs(path)
    size = fs.size(root)
    bounds, lines, offset, last = [data_start], 0, data_start, b"\n"
    with fs.open(root, "rb") as stream:
        stream.seek(data_start)
        while block := stream.read(_SCAN_BLOCK):
            breaks = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n"))
            numbers = np.arange(lines + 1, lines + len(breaks) + 1)
            bounds += (breaks[numbers % chunk_rows == 0] + offset + 1).tolist()
            lines += len(breaks)
            offset, last = offset + len(block), block[-1:]
    if last != b"\n":
        lines += 1  # a last line with no line break
    if bounds[-1] < size:
        bounds.append(size)
    pieces = []
    for i, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        count = min(chunk_rows, lines - i * chunk_rows)
        pieces.append((start, stop, 2 + i * chunk_rows, count))
    return pieces


def _read_bytes(path: str, start: int, stop: int) -> bytes:
    with fsspec.open(path, "rb") as stream:
        stream.seek(start)
        return stream.read(stop - start)


def _parse_records(physical: list[str], columns: list[str], features: list[str]):
    """Each record's offset (in lines), fields wanted (``None``: malformed), raw text."""
    reader = csv.reader(physical)
    wanted = [columns.index(name) for name in features]
    rows, offsets, raw, consumed = [], [], [], 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error:  # e.g. NUL byte: the record is malformed
            fields = None
        first, consumed = consumed, reader.line_num
        if fields == []:
            continue  # a blank line is no record
        offsets.append(first)
        if fields is None or len(fields) != len(columns):
            rows.append([None] * len(wanted))
            raw.append("".join(physical[first:consumed]).rstrip("\r\n"))
        else:
            rows.append([fields[j] for j in wanted])
            raw.append(None)
    return rows, offsets, raw


def _utf8(data: bytes, path: str, encoding: str, fallback: str | None) -> bytes:
    """``data`` as UTF-8 bytes (decoded as ``decode`` does)."""
    if encoding.replace("-", "").lower() == "utf8":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return data
    return decode(data, path, encoding, fallback).encode("utf-8")


def _plain(data: bytes) -> bool:
    """No byte on which ``csv`` / ``splitlines`` differ from a plain comma split."""
    if len(data.translate(None, _SUSPECT)) == len(data):  # one pass, the usual case
        return True
    if any(byte in data for byte in _SPECIAL + _SPECIAL_UTF8):
        return False
    return data.count(b"\r") == data.count(b"\r\n")


def _lines(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each physical line's first byte, its end (before ``\r\n``), its field count."""
    array = np.frombuffer(data, dtype=np.uint8)
    breaks = np.flatnonzero(array == ord("\n"))
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(array)]])
    if len(data) and data.endswith(b"\n"):
        starts, ends = starts[:-1], ends[:-1]
    crlf = (ends > starts) & (array[np.maximum(ends - 1, 0)] == ord("\r"))
    ends = ends - crlf
    commas = np.flatnonzero(array == ord(","))
    fields = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
    return starts, ends, fields


def _arrow_rows(data: bytes, keep: np.ndarray, starts, wanted: list[int]):
    """The wanted fields of the lines ``keep`` as Arrow text columns."""
    if not keep.all():
        stops = np.append(starts[1:], len(data))  # a blank line goes with the last
        mask = np.concatenate(
            [np.zeros(starts[0], dtype=bool), np.repeat(keep, stops - starts)]
        )
        data = np.frombuffer(data, dtype=np.uint8)[mask].tobytes()
    if not data.endswith(b"\n"):  # Arrow reads no last line without its break
        data += b"\n"
    names = [f"f{j}" for j in wanted]
    table = pa_csv.read_csv(
        io.BytesIO(data),
        read_options=pa_csv.ReadOptions(autogenerate_column_names=True),
        parse_options=pa_csv.ParseOptions(quote_char=False),
        convert_options=pa_csv.ConvertOptions(
            include_columns=names,
            column_types=dict.fromkeys(names, pa.large_string()),
            null_values=[],
            strings_can_be_null=False,
        ),
    )
    return [table.column(name) for name in names]


def _with_gaps(column: pa.ChunkedArray, good: np.ndarray) -> pa.ChunkedArray:
    """The well-formed records' values with a missing value at each malformed one:
    slices of ``column`` and null chunks, no copy of the values."""
    if good.all():
        return column
    chunks, taken, done = [], 0, 0
    for bad in np.flatnonzero(~good):
        run = int(bad) - done
        chunks += [column.slice(taken, run), pa.nulls(1, column.type)]
        taken, done = taken + run, int(bad) + 1
    chunks.append(column.slice(taken))
    return pa.chunked_array(
        [chunk for part in chunks for chunk in getattr(part, "chunks", [part])],
        type=column.type,
    )


def _read_plain(data: bytes, columns: list[str], features: list[str]):
    """``_parse_records``' answer for a plain piece (``_plain``), by array operations."""
    starts, ends, fields = _lines(data)
    record = ends > starts  # an empty line is no record
    starts, ends, fields = starts[record], ends[record], fields[record]
    offsets = np.flatnonzero(record)
    good = fields == len(columns)
    wanted = [columns.index(name) for name in features]
    found = _arrow_rows(data, good, starts, wanted) if good.any() else []
    values: dict[str, Any] = {name: [None] * len(good) for name in features}
    for name, column in zip(features, found, strict=False):
        values[name] = _with_gaps(column, good).to_pandas(types_mapper=_AS_STRING.get)
    raw = np.full(len(good), None, dtype=object)
    for i in np.flatnonzero(~good):
        raw[i] = data[starts[i] : ends[i]].decode("utf-8")
    values[RAW_RECORD] = pa.array(
        raw, type=pa.large_string(), from_pandas=True
    ).to_pandas(types_mapper=_AS_STRING.get)
    return values, offsets


def read_csv_range(
    path: str,
    start: int,
    stop: int,
    first_line: int,
    features: list[str],
    encoding: str,
    fallback: str | None,
) -> Any:
    """The records of bytes ``start:stop`` of a file, in the common shape."""
    columns, _ = csv_header(path, encoding, fallback)
    data = _utf8(_read_bytes(path, start, stop), path, encoding, fallback)
    if _plain(data):
        values, offsets = _read_plain(data, columns, features)
    else:
        physical = data.decode("utf-8").splitlines(keepends=True)
        rows, offsets, raw = _parse_records(physical, columns, features)
        values = (
            dict(zip(features, zip(*rows, strict=True), strict=True)) if rows else {}
        )
        values = {name: values.get(name, ()) for name in features}
        values[RAW_RECORD] = raw
    lines = first_line + np.asarray(offsets, dtype="int64")
    return shaped(values, path, lines, features)
