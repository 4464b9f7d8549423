"""A large batch of raw records: files planned into pieces, each read on its own.

``RawBatchDataset`` (the catalog entries ``raw_scoring_batch`` and, in ``conf/dask``,
``raw_drift_batch``) loads a ``RawBatch``: the files behind a path (one file, a glob or
a folder; CSV or Parquet) and nothing else. Its reader asks it for ``pieces`` of about
``chunk_rows`` records (headers are checked against the schema then) and reads them
one at a time (``read_piece``), in this process or on a Dask worker, so memory is
bounded by a piece, never by the file.

Every piece comes out in one shape (``records``): where each record comes from, its
features as text, and the raw text of a malformed record (a CSV record whose field
count differs from the header's), kept in the stream, never dropped, so that rows in
= rows out. CSV pieces are byte ranges of whole lines (``csv_format``); Parquet
pieces are whole row groups (``parquet_format``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import fsspec
import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from student_performance.batch.csv_format import csv_header, csv_pieces, read_csv_range
from student_performance.batch.parquet_format import (
    parquet_metadata,
    parquet_pieces,
    read_parquet_groups,
)
from student_performance.core.cleaning import check_columns
from student_performance.datasets import RawDataError
from student_performance.schema import DatasetSchema

logger = logging.getLogger(__name__)

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")


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
                columns, data_start = csv_header(
                    path, self.encoding, self.fallback_encoding
                )
                found = csv_pieces(path, data_start, chunk_rows)
            else:
                columns, found = parquet_pieces(path, chunk_rows)
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
            return csv_header(piece.path, self.encoding, self.fallback_encoding)[0]
        return list(parquet_metadata(piece.path).schema.names)

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
            return read_csv_range(
                piece.path,
                piece.start,
                piece.stop,
                piece.first_line,
                features,
                self.encoding,
                self.fallback_encoding,
            )
        groups = range(piece.start, piece.stop)
        return read_parquet_groups(piece.path, groups, piece.first_line, features)


class RawBatchDataset(AbstractDataset[None, RawBatch]):
    """Raw records to score, from one file, a glob or a folder (CSV or Parquet).

    Loading reads nothing but file names: it returns a ``RawBatch``, which the scoring
    node plans into pieces and reads piece by piece (see the module docstring).

    Example catalog entry::

        raw_scoring_batch:
          type: student_performance.batch.RawBatchDataset
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
            raise RawDataError(f"{err}: {self._missing_hint}") from None
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
