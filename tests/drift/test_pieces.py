"""Drift profiles piece by piece (in this process and on a Dask cluster) equal the
profiles of the whole batch read as one frame, and so do the drift statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from student_performance.drift.batch import clean_batch
from student_performance.drift.detect import compare_profiles, profile_frame
from student_performance.drift.pieces import profile_batch
from student_performance.drift.settings import DriftThresholds
from student_performance.scoring.engines import dask_client
from student_performance.scoring.settings import DaskSettings
from student_performance.scoring.source import RAW_RECORD, RawBatchDataset
from tests.scoring.conftest import write_messy_copies

CHUNK_ROWS = 500


@pytest.fixture(scope="module")
def batch(tmp_path_factory, messy_file):
    path = write_messy_copies(
        messy_file, tmp_path_factory.mktemp("drift") / "batch.csv", 6
    )
    return RawBatchDataset(path=str(path)).load()


@pytest.fixture(scope="module")
def whole(batch, dataset_schema):
    """The pandas path: every well-formed record in one frame, cleaned and profiled."""
    pieces = batch.pieces(CHUNK_ROWS, dataset_schema)
    raw = pd.concat(
        [batch.read_piece(p, dataset_schema.feature_names) for p in pieces],
        ignore_index=True,
    )
    raw = raw.loc[raw[RAW_RECORD].isna(), dataset_schema.feature_names]
    typed, unseen = clean_batch(raw, dataset_schema)
    return profile_frame(typed, dataset_schema), unseen


def _assert_same(merged, whole, reference, dataset_schema):
    profiles, unseen, malformed = merged
    whole_profiles, whole_unseen = whole
    assert malformed == 4
    assert profiles.keys() == whole_profiles.keys()
    for name, profile in profiles.items():
        np.testing.assert_array_equal(profile.counts, whole_profiles[name].counts)
        assert profile.missing == whole_profiles[name].missing
    assert unseen.to_dict("records") == whole_unseen.to_dict("records")
    settings = {"dataset": dataset_schema, "thresholds": DriftThresholds(), "seed": 1}
    assert compare_profiles(reference, profiles, unseen, **settings) == (
        compare_profiles(reference, whole_profiles, whole_unseen, **settings)
    )


@pytest.fixture(scope="module")
def reference(messy_file, dataset_schema):
    raw = pd.read_csv(messy_file, dtype="string", keep_default_na=False)
    typed, _ = clean_batch(raw, dataset_schema)
    return profile_frame(typed, dataset_schema)


def test_pieces_in_process_add_up_to_the_whole(batch, whole, reference, dataset_schema):
    merged = profile_batch(batch, dataset_schema, CHUNK_ROWS)
    assert merged[1]["count"].sum() == 2  # the two records with Caste 'Brahmin'
    _assert_same(merged, whole, reference, dataset_schema)


@pytest.mark.slow
def test_pieces_on_a_cluster_add_up_to_the_whole(
    batch, whole, reference, dataset_schema, monkeypatch
):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    with dask_client(DaskSettings(workers=2, memory_limit="1GB")) as client:
        merged = profile_batch(batch, dataset_schema, CHUNK_ROWS, client)
    _assert_same(merged, whole, reference, dataset_schema)
