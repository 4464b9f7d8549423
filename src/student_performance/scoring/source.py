"""The raw input of batch scoring: files planned into pieces, each read on its own.

``RawBatchDataset`` (the catalog entry ``raw_scoring_batch``) loads a ``RawBatch``: the
files behind a path (one file, a glob or a folder; CSV or Parquet), their header checked
against the schema, and nothing else read. The scoring node asks it for ``pieces`` of
about ``chunk_rows`` records and reads them one at a time (``read_piece``), in this
process or on a Dask worker, so memory is bounded by a piece, never by the file.

Every piece comes out in one shape (the ``RAW_COLUMNS`` then the schema's features, all
text): ``source_file``, ``source_line`` (CSV: the record's first physical line, header
= 1; Parquet: the 1-based row number), the raw features, and ``raw_record``: the line as
written when the record is malformed (a CSV record whose field count differs from the
header's), NA otherwise. Malformed records are kept in the stream, never dropped, so
that rows in = scored + rejected.

CSV pieces are byte ranges that start and end at line breaks (found by one vectorised
scan of the file), so a piece is read without reading the ones before it. A quoted field
holding a line break is read correctly inside a piece; one that straddles two pieces
yields two malformed records (counted and set aside, not lost).
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
from kedro.io import AbstractDataset, DatasetError

from student_performance.core.cleaning import check_columns
from student_performance.datasets import RawDataError
from student_performance.schema import DatasetSchema

logger = logging.getLogger(__name__)

SOURCE_FILE, SOURCE_LINE, RAW_RECORD = "source_file", "source_line", "raw_record"
RAW_COLUMNS = [SOURCE_FILE, SOURCE_LINE]
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
_SCAN_BLOCK = 1 << 24  # bytes read at a time when planning a CSV file
_AS_STRING = {  # Arrow text to pandas' "string" dtype without a copy through Python
    pa.large_string(): pd.StringDtype("pyarrow"),
    pa.string(): pd.StringDtype("pyarrow"),
}


@dataclass(frozen=True)
class Piece:
    """One independently readable part of one file.

    Attributes:
        index: Position in the plan (partition number).
        path: The file.
        kind: ``csv`` or ``parquet``.
        start: CSV: first byte; Parquet: first row group.
        stop: CSV: byte after the last; Parquet: row group after the last.
        first_line: ``source_line`` of the piece's first record.
        rows: Records (Parquet) or lines (CSV, blank ones included) in the piece.
    """

    index: int
    path: str
    kind: str
    start: int
    stop: int
    first_line: int
    rows: int


def _kind(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise RawDataError(f"{path}: not a CSV or Parquet file (by its name)")


def expand_paths(path: str) -> list[str]:
    """The files a path names: itself, a glob's matches, or a folder's data files.

    Args:
        path: A file, a glob (``*``, ``?``, ``[``) or a folder (its ``.csv`` and
            ``.parquet`` files, recursively), local or any fsspec URL.

    Returns:
        The files, sorted (protocol kept for non-local paths).

    Raises:
        RawDataError: Nothing matches.
    """
    fs, root = fsspec.core.url_to_fs(path)
    if any(c in root for c in "*?["):
        found = fs.glob(root)
    elif fs.isdir(root):
        found = [
            p
            for p in fs.find(root)
            if PurePosixPath(p).suffix.lower() in CSV_SUFFIXES + PARQUET_SUFFIXES
        ]
    elif fs.exists(root):
        found = [root]
    else:
        raise RawDataError(f"{path}: no such file or folder")
    files = sorted(p for p in found if not fs.isdir(p))
    if not files:
        raise RawDataError(f"{path}: no CSV or Parquet file found")
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol in {"file", "local"}:
        return files
    return [fs.unstrip_protocol(p) for p in files]


def _decode(data: bytes, path: str, encoding: str, fallback: str | None) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        if not fallback:
            raise RawDataError(
                f"{path}: not valid {encoding} (byte {data[err.start]:#04x}); re-save "
                "it as UTF-8 or set fallback_encoding in the catalog entry"
            ) from err
        return data.decode(fallback)


def _csv_header(path: str, encoding: str, fallback: str | None) -> tuple[list, int]:
    """The header's fields and the byte where the first record starts."""
    with fsspec.open(path, "rb") as stream:
        first = stream.readline()
    if not first.strip():
        raise RawDataError(f"{path}: the file is empty (no header row and no data)")
    text = _decode(first, path, encoding, fallback).removeprefix("\ufeff")  # a BOM
    fields = next(csv.reader([text]))
    return [f.strip() for f in fields], len(first)


def _csv_pieces(path: str, data_start: int, chunk_rows: int) -> list[tuple]:
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


def _parquet_metadata(path: str) -> Any:
    """The file's Parquet metadata (schema and row groups; no data is read)."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    with fsspec.open(path, "rb") as stream:
        return pq.ParquetFile(stream).metadata


def _parquet_pieces(path: str, chunk_rows: int) -> tuple[list[str], list[tuple]]:
    """The file's columns, and (first group, stop group, first row, rows) pieces."""
    meta = _parquet_metadata(path)
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


@dataclass(frozen=True)
class RawBatch:
    """A lazy view of the input: the files and how to read them, nothing loaded.

    Attributes:
        path: What the catalog entry names (file, glob or folder).
        files: The files behind it, sorted.
        encoding: CSV text encoding.
        fallback_encoding: Encoding retried when a CSV piece is not valid ``encoding``.
    """

    path: str
    files: tuple[str, ...]
    encoding: str = "utf-8"
    fallback_encoding: str | None = None

    def pieces(self, chunk_rows: int, dataset: DatasetSchema) -> list[Piece]:
        """Plan every file into pieces of at most about ``chunk_rows`` records.

        Headers are checked here, once per file, before any record is read.

        Args:
            chunk_rows: Records per piece (Parquet: whole row groups up to this).
            dataset: The schema the model was trained with (its feature columns must
                all be present; see ``core.cleaning.check_columns``).

        Returns:
            The pieces, numbered in file order.

        Raises:
            RawDataError: A file without a required column, or unreadable.
        """
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
        plan: list[Piece] = []
        for path in self.files:
            kind = _kind(path)
            if kind == "csv":
                columns, data_start = _csv_header(
                    path, self.encoding, self.fallback_encoding
                )
                found = _csv_pieces(path, data_start, chunk_rows)
            else:
                columns, found = _parquet_pieces(path, chunk_rows)
            header = pd.DataFrame(columns=columns, dtype="string")
            header.attrs["source_file"] = path
            check_columns(header, dataset.feature_names, dataset)
            plan += [
                Piece(len(plan) + i, path, kind, *bounds)
                for i, bounds in enumerate(found)
            ]
        return plan

    def columns(self, piece: Piece) -> list[str]:
        """The column names of a piece's file, read as ``pieces`` reads them."""
        if piece.kind == "csv":
            return _csv_header(piece.path, self.encoding, self.fallback_encoding)[0]
        return list(_parquet_metadata(piece.path).schema.names)

    def read_piece(self, piece: Piece, features: list[str]) -> pd.DataFrame:
        """One piece's records, in the common shape (see the module docstring).

        Args:
            piece: From ``pieces``.
            features: The schema's feature columns, in order.

        Returns:
            ``source_file``, ``source_line`` (int64), the features and
            ``raw_record``, all text but the line.
        """
        if piece.kind == "csv":
            return _read_csv_piece(
                piece, features, self.encoding, self.fallback_encoding
            )
        return _read_parquet_piece(piece, features)


def empty_piece(features: list[str]) -> pd.DataFrame:
    """A piece with no records (the shape of every piece)."""
    frame = pd.DataFrame(
        {name: pd.Series(dtype="string") for name in [SOURCE_FILE, *features]}
    )
    frame.insert(1, SOURCE_LINE, pd.Series(dtype="int64"))
    frame[RAW_RECORD] = pd.Series(dtype="string")
    return frame


def _shaped(
    values: dict[str, Any], path: str, lines: np.ndarray, features: list[str]
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {name: pd.array(values[name], dtype="string") for name in features}
    )
    frame.insert(0, SOURCE_FILE, pd.array([path] * len(lines), dtype="string"))
    frame.insert(1, SOURCE_LINE, np.asarray(lines, dtype="int64"))
    frame[RAW_RECORD] = pd.array(values[RAW_RECORD], dtype="string")
    return frame


def _read_csv_piece(
    piece: Piece, features: list[str], encoding: str, fallback: str | None
) -> pd.DataFrame:
    columns, _ = _csv_header(piece.path, encoding, fallback)
    with fsspec.open(piece.path, "rb") as stream:
        stream.seek(piece.start)
        data = stream.read(piece.stop - piece.start)
    physical = _decode(data, piece.path, encoding, fallback).splitlines(keepends=True)
    reader = csv.reader(physical)
    wanted = [columns.index(name) for name in features]
    rows, lines, raw, consumed = [], [], [], 0
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
        lines.append(piece.first_line + first)
        if fields is None or len(fields) != len(columns):
            rows.append([None] * len(wanted))
            raw.append("".join(physical[first:consumed]).rstrip("\r\n"))
        else:
            rows.append([fields[j] for j in wanted])
            raw.append(None)
    values = dict(zip(features, zip(*rows, strict=True), strict=True)) if rows else {}
    values = {name: values.get(name, ()) for name in features}
    values[RAW_RECORD] = raw
    return _shaped(values, piece.path, np.asarray(lines), features)


def _read_parquet_piece(piece: Piece, features: list[str]) -> pd.DataFrame:
    import pyarrow.parquet as pq  # noqa: PLC0415

    with fsspec.open(piece.path, "rb") as stream:
        table = pq.ParquetFile(stream).read_row_groups(
            list(range(piece.start, piece.stop)), columns=features
        )
    values: dict[str, Any] = {
        name: table.column(name)
        .cast("large_string")
        .to_pandas(types_mapper=_AS_STRING.get)
        for name in features
    }
    values[RAW_RECORD] = [None] * table.num_rows
    lines = np.arange(piece.first_line, piece.first_line + table.num_rows)
    return _shaped(values, piece.path, lines, features)


class RawBatchDataset(AbstractDataset[None, RawBatch]):
    """Raw records to score, from one file, a glob or a folder (CSV or Parquet).

    Loading reads nothing but file names: it returns a ``RawBatch``, which the scoring
    node plans into pieces and reads piece by piece (see the module docstring).

    Example catalog entry::

        raw_scoring_batch:
          type: student_performance.scoring.RawBatchDataset
          path: ${runtime_params:batch_scoring.input, data/01_raw/students.csv}
          fallback_encoding: latin-1
    """

    def __init__(
        self,
        *,
        path: str,
        encoding: str = "utf-8",
        fallback_encoding: str | None = None,
        missing_hint: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Create the dataset.

        Args:
            path: File, glob or folder (local or an fsspec URL).
            encoding: CSV text encoding.
            fallback_encoding: Retried when a CSV is not valid ``encoding``; ``None``
                rejects such files.
            missing_hint: What to do when nothing is found at ``path``, appended to
                the message (e.g. how to name another input).
            metadata: Free-form (kedro-viz layer).
        """
        self._path = str(path)
        self._encoding = encoding
        self._fallback_encoding = fallback_encoding
        self._missing_hint = missing_hint
        self.metadata = metadata

    def load(self) -> RawBatch:
        """The input's files (nothing else is read)."""
        try:
            files = tuple(expand_paths(self._path))
        except RawDataError as err:
            if not self._missing_hint:
                raise
            raise RawDataError(f"{err}: {self._missing_hint}") from err
        return RawBatch(self._path, files, self._encoding, self._fallback_encoding)

    def save(self, data: None) -> None:
        """Raw input is never written."""
        raise DatasetError(f"{self._path}: raw input is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"path": self._path, "encoding": self._encoding}

    def _exists(self) -> bool:
        try:
            return bool(expand_paths(self._path))
        except RawDataError:
            return False
