"""Drift profiles of a batch too large for one frame: piece by piece, or on a cluster.

The batch is a ``batch.reader.RawBatch`` (the lazy reader batch scoring uses too: one
file, a glob or a folder of CSV / Parquet, planned into pieces). Each piece is cleaned
by ``batch.cleaning.clean_batch`` and profiled by ``detect.profile_frame`` (``profile_rows``,
which also profiles a batch already read as one frame), in this process or on Dask
workers; the per-piece profiles (category counts, missing counts, numeric values) and
unseen-value counts are then added up. Counts add exactly, so the merged profiles
equal the profiles of the whole batch read as one frame, and
``detect.compare_profiles`` gives the same statistics (tested).

The target is profiled when every file has its column (then target drift and the
model part's performance are measured, as on a frame holding it).

Malformed CSV records (a field count that differs from the header's) are left out and
counted: drift compares values, and such a record has none that can be trusted. A CSV
line of empty fields (``,,,``) is no record, as ``RawCSVDataset`` reads a file.

The model part (``drift_monitoring_model``) predicts typed rows; a lazy batch gives it
a bounded sample: every row when the batch plans at most ``max_rows`` records, else a
uniform sample of at most ``max_rows``, drawn by a seeded hash of each record's file
and line, so it depends on neither the pieces nor the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from student_performance.batch.cleaning import clean_batch, empty_unseen
from student_performance.batch.reader import Piece, RawBatch
from student_performance.batch.records import RAW_RECORD, SOURCE_FILE, SOURCE_LINE
from student_performance.drift.detect import ColumnProfile, profile_frame
from student_performance.schema import DatasetSchema

Profiles = dict[str, ColumnProfile]
# The modules a Dask worker profiling pieces needs, imported once it is up
# (``batch.cluster.dask_client``'s ``preload``).
WORKER_MODULES = ("student_performance.drift.pieces",)
_KEY = "__sample_key"  # a sampled row's hash key, while pieces are merged


@dataclass(frozen=True)
class BatchProfile:
    """A batch as drift monitoring compares it.

    Attributes:
        profiles: Column profiles (``detect.profile_frame``): the target when present,
            then the features.
        unseen: Values the schema does not allow (``column``, ``value``, ``count``),
            most frequent first, then by column and value.
        sample: Typed rows for the model part: every row, or a bounded sample of a
            lazy batch (``profile_batch``).
        malformed: Malformed records left out (a frame's reader has left out its own).
        pieces: Pieces profiled (a frame: 1).
    """

    profiles: Profiles
    unseen: pd.DataFrame
    sample: pd.DataFrame
    malformed: int = 0
    pieces: int = 1

    @property
    def rows(self) -> int:
        """Rows profiled (malformed records left out)."""
        return next(iter(self.profiles.values())).n_rows if self.profiles else 0


def _ordered(unseen: pd.DataFrame) -> pd.DataFrame:
    """Unseen values in one order whatever the pieces: by count, column, value."""
    return (
        unseen.sort_values(["count", "column", "value"], ascending=[False, True, True])
        .reset_index(drop=True)
        .astype({"column": "string", "value": "string", "count": "int64"})
    )


def profile_rows(
    raw: pd.DataFrame,
    dataset: DatasetSchema,
    rate: float = 1.0,
    keys: np.ndarray | None = None,
) -> BatchProfile:
    """Clean, type and profile raw rows (a frame, or one piece of a lazy batch).

    Args:
        raw: Raw rows, every cell as text (``batch.cleaning.clean_rows``' contract).
        dataset: The schema.
        rate: Share of the rows to keep in ``sample`` (1: all of them).
        keys: Per row, a number in [0, 1): rows under ``rate`` are sampled (needed
            when ``rate`` < 1; kept in the sample for ``merge_profiles``).

    Returns:
        The profiles, unseen values and typed sample of the rows.

    Raises:
        RawDataError: As ``batch.cleaning.clean_batch``.
    """
    typed, unseen = clean_batch(raw, dataset)
    sample = typed
    if rate < 1:
        kept = keys < rate
        sample = typed.loc[kept].assign(**{_KEY: keys[kept]})
    return BatchProfile(profile_frame(typed, dataset), _ordered(unseen), sample)


def _sample_keys(raw: pd.DataFrame, seed: int) -> np.ndarray:
    """A number in [0, 1) per record, from its file, line and the seed alone."""
    hashed = pd.util.hash_pandas_object(
        raw[[SOURCE_FILE, SOURCE_LINE]], index=False, hash_key=f"{seed:016d}"[-16:]
    )
    return hashed.to_numpy() / 2.0**64


def _blank(raw: pd.DataFrame) -> np.ndarray:
    """Records whose every field is empty or white space (``,,,`` lines)."""
    candidates = raw.index
    for name in raw.columns:  # few rows stay candidates after the first fields
        values = raw.loc[candidates, name].str.strip().fillna("")
        candidates = values.index[values.eq("").to_numpy()]
        if candidates.empty:
            break
    return raw.index.isin(candidates)


def profile_piece(
    batch: RawBatch,
    piece: Piece,
    schema: dict[str, Any],
    columns: list[str],
    header: list[str],
    rate: float = 1.0,
    seed: int = 0,
) -> BatchProfile:
    """One piece's profiles, unseen values, sample and malformed-record count.

    A CSV line of empty fields is no record (as ``RawCSVDataset`` reads a file), so
    every field of a CSV piece is read to find them.

    Args:
        batch: The lazy batch.
        piece: One of ``batch.pieces(...)``.
        schema: The dataset schema (as a plain dict, cheap to send to a worker).
        columns: The columns to profile: the target (when every file has it), then
            the features.
        header: The columns of the piece's file.
        rate: Share of the piece's records to keep in the sample.
        seed: Seed of the sample's hash.

    Returns:
        The piece's ``BatchProfile`` (``pieces`` 1).
    """
    dataset = DatasetSchema.model_validate(schema)
    fields = list(dict.fromkeys(header)) if piece.kind == "csv" else columns
    raw = batch.read_piece(piece, fields)
    raw.index = pd.Index(raw[SOURCE_LINE], name=SOURCE_LINE)  # as RawCSVDataset
    malformed = raw[RAW_RECORD].notna()
    raw = raw.loc[~malformed]
    if piece.kind == "csv":
        raw = raw.loc[~_blank(raw[fields])]
    keys = _sample_keys(raw, seed) if rate < 1 else None
    profile = profile_rows(raw[columns], dataset, rate, keys)
    return replace(profile, malformed=int(malformed.sum()))


def _add(left: ColumnProfile, right: ColumnProfile) -> ColumnProfile:
    return replace(
        left,
        counts=left.counts + right.counts if left.categories else left.counts,
        values=np.concatenate([left.values, right.values]),
        missing=left.missing + right.missing,
    )


def merge_profiles(
    parts: list[BatchProfile], max_rows: int | None = None
) -> BatchProfile:
    """Add up per-piece results (in piece order: numeric values keep their order).

    Args:
        parts: ``profile_piece`` outputs, at least one.
        max_rows: At most this many sampled rows are kept (those with the smallest
            keys, in piece order); ``None``: all.

    Returns:
        The batch's profiles, unseen values (summed per column and value), sample,
        malformed-record count and number of pieces.
    """
    profiles: Profiles = {}
    for part in parts:
        for name, profile in part.profiles.items():
            profiles[name] = (
                _add(profiles[name], profile) if name in profiles else profile
            )
    tables = [part.unseen for part in parts if not part.unseen.empty]
    unseen = (
        _ordered(
            pd.concat(tables)
            .groupby(["column", "value"], as_index=False)["count"]
            .sum()
        )
        if tables
        else empty_unseen()
    )
    sample = pd.concat([part.sample for part in parts])
    if _KEY in sample.columns:
        if max_rows is not None and len(sample) > max_rows:
            order = np.argsort(sample[_KEY].to_numpy(), kind="stable")[:max_rows]
            sample = sample.iloc[np.sort(order)]  # the smallest keys, in batch order
        sample = sample.drop(columns=_KEY)
    return BatchProfile(
        profiles,
        unseen,
        sample,
        sum(part.malformed for part in parts),
        len(parts),
    )


def profiled_columns(headers: list[list[str]], dataset: DatasetSchema) -> list[str]:
    """The columns to profile: the target when every file has it, then the features."""
    with_target = bool(headers) and all(dataset.target.name in h for h in headers)
    return [dataset.target.name] * with_target + list(dataset.feature_names)


def _empty(columns: list[str], dataset: DatasetSchema) -> BatchProfile:
    raw = pd.DataFrame({name: pd.Series(dtype="string") for name in columns})
    return profile_rows(raw, dataset)


def profile_batch(
    batch: RawBatch,
    dataset: DatasetSchema,
    chunk_rows: int,
    client: Any = None,
    *,
    max_rows: int | None = None,
    seed: int = 0,
) -> BatchProfile:
    """Profiles, unseen values, sample and malformed count of a whole lazy batch.

    Args:
        batch: The lazy batch.
        dataset: The schema.
        chunk_rows: Records per piece.
        client: A ``distributed.Client``: pieces are profiled on its workers;
            ``None``: in this process.
        max_rows: Size of the model part's sample: every row when the batch plans at
            most this many records, else a uniform sample of at most this many;
            ``None``: every row.
        seed: Seed of the sample.

    Returns:
        As ``merge_profiles``.
    """
    pieces = batch.pieces(chunk_rows, dataset)
    files = {piece.path: piece for piece in pieces}
    headers = {path: batch.columns(piece) for path, piece in files.items()}
    columns = profiled_columns(list(headers.values()), dataset)
    planned = sum(piece.rows for piece in pieces)
    rate = 1.0 if max_rows is None or planned <= max_rows else max_rows / planned
    schema = dataset.model_dump(mode="json")
    if not pieces:
        return replace(_empty(columns, dataset), pieces=0)
    if client is None:
        parts = [
            profile_piece(batch, p, schema, columns, headers[p.path], rate, seed)
            for p in pieces
        ]
    else:
        import dask  # noqa: PLC0415

        tasks = [
            dask.delayed(profile_piece)(
                batch, p, schema, columns, headers[p.path], rate, seed
            )
            for p in pieces
        ]
        parts = client.gather(client.compute(tasks))
    return merge_profiles(parts, max_rows)
