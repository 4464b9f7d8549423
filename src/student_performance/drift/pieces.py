"""Drift profiles of a batch too large for one frame: piece by piece, or on a cluster.

The batch is a ``scoring.source.RawBatch`` (the lazy reader batch scoring uses: one
file, a glob or a folder of CSV / Parquet, planned into pieces). Each piece is cleaned
by ``batch.clean_batch`` and profiled by ``detect.profile_frame``, in this process or
on Dask workers; the per-piece profiles (category counts, missing counts, numeric
values) and unseen-value counts are then added up. Counts add exactly, so the merged
profiles equal the profiles of the whole batch read as one frame, and
``detect.compare_profiles`` gives the same statistics (tested).

Malformed CSV records (a field count that differs from the header's) are left out and
counted: drift compares values, and such a record has none that can be trusted.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from student_performance.drift.batch import clean_batch, empty_unseen
from student_performance.drift.detect import ColumnProfile, profile_frame
from student_performance.schema import DatasetSchema
from student_performance.scoring.source import RAW_RECORD, Piece, RawBatch

Profiles = dict[str, ColumnProfile]


def profile_piece(
    batch: RawBatch, piece: Piece, schema: dict[str, Any]
) -> tuple[Profiles, pd.DataFrame, int]:
    """One piece's feature profiles, unseen values and malformed-record count.

    Args:
        batch: The lazy batch.
        piece: One of ``batch.pieces(...)``.
        schema: The dataset schema (as a plain dict, cheap to send to a worker).

    Returns:
        Profiles of the feature columns (``detect.profile_frame``), the unseen values
        (``column``, ``value``, ``count``) and the number of malformed records.
    """
    dataset = DatasetSchema.model_validate(schema)
    raw = batch.read_piece(piece, dataset.feature_names)
    malformed = raw[RAW_RECORD].notna()
    typed, unseen = clean_batch(raw.loc[~malformed, dataset.feature_names], dataset)
    return profile_frame(typed, dataset), unseen, int(malformed.sum())


def _add(left: ColumnProfile, right: ColumnProfile) -> ColumnProfile:
    return replace(
        left,
        counts=left.counts + right.counts if left.categories else left.counts,
        values=np.concatenate([left.values, right.values]),
        missing=left.missing + right.missing,
    )


def merge_profiles(
    parts: list[tuple[Profiles, pd.DataFrame, int]],
) -> tuple[Profiles, pd.DataFrame, int]:
    """Add up per-piece results (in piece order: numeric values keep their order).

    Args:
        parts: ``profile_piece`` outputs.

    Returns:
        The batch's profiles, unseen values (summed per column and value, most
        frequent first) and malformed-record count.
    """
    profiles: Profiles = {}
    for piece_profiles, _, _ in parts:
        for name, profile in piece_profiles.items():
            profiles[name] = (
                _add(profiles[name], profile) if name in profiles else profile
            )
    tables = [table for _, table, _ in parts if not table.empty]
    unseen = (
        pd.concat(tables)
        .groupby(["column", "value"], as_index=False)["count"]
        .sum()
        .sort_values(["count", "column", "value"], ascending=[False, True, True])
        .reset_index(drop=True)
        .astype({"column": "string", "value": "string", "count": "int64"})
        if tables
        else empty_unseen()
    )
    return profiles, unseen, sum(n for _, _, n in parts)


def profile_batch(
    batch: RawBatch, dataset: DatasetSchema, chunk_rows: int, client: Any = None
) -> tuple[Profiles, pd.DataFrame, int]:
    """Feature profiles, unseen values and malformed count of a whole lazy batch.

    Args:
        batch: The lazy batch.
        dataset: The schema.
        chunk_rows: Records per piece.
        client: A ``distributed.Client``: pieces are profiled on its workers (as the
            partitions of a Dask DataFrame); ``None``: in this process.

    Returns:
        As ``merge_profiles``.
    """
    pieces = batch.pieces(chunk_rows, dataset)
    schema = dataset.model_dump(mode="json")
    if client is None:
        return merge_profiles([profile_piece(batch, p, schema) for p in pieces])
    import dask  # noqa: PLC0415

    tasks = [dask.delayed(profile_piece)(batch, p, schema) for p in pieces]
    return merge_profiles(client.gather(client.compute(tasks)))
