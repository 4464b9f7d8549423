"""CSV files of a batch: planned into byte ranges of whole lines, read range by range.

A piece is a byte range that starts and ends at line breaks (found by one vectorised
scan of the file), so a piece is read without reading the ones before it. A quoted
field holding a line break is read correctly inside a piece; one that straddles two
pieces yields two malformed records (counted and set aside, not lost).
"""

from __future__ import annotations

import csv
from typing import Any

import fsspec
import numpy as np

from student_performance.batch.records import RAW_RECORD, shaped
from student_performance.datasets import RawDataError

_SCAN_BLOCK = 1 << 24  # bytes read at a time when planning a CSV file


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
    text = decode(_read_bytes(path, start, stop), path, encoding, fallback)
    physical = text.splitlines(keepends=True)
    rows, offsets, raw = _parse_records(physical, columns, features)
    values = dict(zip(features, zip(*rows, strict=True), strict=True)) if rows else {}
    values = {name: values.get(name, ()) for name in features}
    values[RAW_RECORD] = raw
    lines = first_line + np.asarray(offsets, dtype="int64")
    return shaped(values, path, lines, features)
