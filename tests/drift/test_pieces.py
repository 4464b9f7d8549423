"""Drift profiles piece by piece (in this process and on a Dask cluster) equal the
profiles of the whole batch read as one frame, and so do the drift statistics; the
model part's sample is bounded and the same whatever the pieces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from student_performance.batch.cleaning import clean_batch
from student_performance.batch.cluster import dask_client
from student_performance.batch.reader import RawBatchDataset
from student_performance.batch.settings import DaskParams
from student_performance.datasets import RawCSVDataset
from student_performance.drift.detect import compare_profiles, profile_frame
from student_performance.drift.pieces import profile_batch, profile_rows
from student_performance.drift.settings import DriftTestsParams
from tests.scoring.conftest import write_messy_copies

CHUNK_ROWS = 500
COPIES = 6


@pytest.fixture(scope="module")
def batch_file(tmp_path_factory, messy_file):
    return write_messy_copies(
        messy_file, tmp_path_factory.mktemp("drift") / "batch.csv", COPIES
    )


@pytest.fixture(scope="module")
def batch(batch_file):
    return RawBatchDataset(path=str(batch_file)).load()


@pytest.fixture(scope="module")
def whole(batch_file, dataset_schema):
    """The pandas path: the file read as one frame (malformed records left out by
    the reader), cleaned and profiled."""
    return profile_rows(RawCSVDataset(filepath=str(batch_file)).load(), dataset_schema)


def _assert_same(merged, whole, reference, dataset_schema):
    assert merged.malformed == 4
    assert list(merged.profiles) == list(whole.profiles) == dataset_schema.columns
    for name, profile in merged.profiles.items():
        np.testing.assert_array_equal(profile.counts, whole.profiles[name].counts)
        assert profile.missing == whole.profiles[name].missing
    assert merged.unseen.to_dict("records") == whole.unseen.to_dict("records")
    settings = {"dataset": dataset_schema, "thresholds": DriftTestsParams(), "seed": 1}
    assert compare_profiles(reference, merged.profiles, merged.unseen, **settings) == (
        compare_profiles(reference, whole.profiles, whole.unseen, **settings)
    )


@pytest.fixture(scope="module")
def reference(messy_file, dataset_schema):
    raw = pd.read_csv(messy_file, dtype="string", keep_default_na=False)
    typed, _ = clean_batch(raw, dataset_schema)
    return profile_frame(typed, dataset_schema)


def test_pieces_in_process_add_up_to_the_whole(batch, whole, reference, dataset_schema):
    merged = profile_batch(batch, dataset_schema, CHUNK_ROWS)
    assert merged.pieces > 1
    # the two records with Caste 'Brahmin', and the target's unseen values
    assert merged.unseen.query("column == 'Caste'")["count"].sum() == 2
    _assert_same(merged, whole, reference, dataset_schema)
    # the same rows, indexed by their line as RawCSVDataset indexes them
    pd.testing.assert_frame_equal(merged.sample, whole.sample, check_exact=True)


def test_lines_of_empty_fields_are_no_records_on_both_paths(
    tmp_path, messy_file, dataset_schema
):
    """As RawCSVDataset reads a file (spreadsheet exports end with such lines)."""
    lines = messy_file.read_text().splitlines(keepends=True)
    empty = [",,,,,,,,,,,,\n", " , ,,,,,,,,,,, \n"]
    path = tmp_path / "with_empty_lines.csv"
    path.write_text("".join(lines[:50] + empty + lines[50:] + empty))
    whole = profile_rows(RawCSVDataset(filepath=str(path)).load(), dataset_schema)
    merged = profile_batch(RawBatchDataset(path=str(path)).load(), dataset_schema, 100)
    assert merged.rows == whole.rows == 679
    for name, profile in merged.profiles.items():
        np.testing.assert_array_equal(profile.counts, whole.profiles[name].counts)
        assert profile.missing == whole.profiles[name].missing


def test_without_a_target_column_only_features_are_profiled(
    tmp_path, messy_file, dataset_schema
):
    raw = pd.read_csv(messy_file, dtype="string", keep_default_na=False)
    path = tmp_path / "unlabelled.csv"
    raw.drop(columns=dataset_schema.target.name).to_csv(path, index=False)
    both = tmp_path / "some_labelled"
    both.mkdir()
    raw.to_csv(both / "a.csv", index=False)
    raw.drop(columns=dataset_schema.target.name).to_csv(both / "b.csv", index=False)
    for source in (path, both):  # one file has no target: no target profiled
        merged = profile_batch(
            RawBatchDataset(path=str(source)).load(), dataset_schema, CHUNK_ROWS
        )
        assert list(merged.profiles) == dataset_schema.feature_names
        assert list(merged.sample.columns) == dataset_schema.feature_names


def test_the_sample_is_bounded_and_independent_of_the_pieces(batch, dataset_schema):
    rows = 200
    small, large = (
        profile_batch(batch, dataset_schema, chunk, max_rows=rows, seed=3)
        for chunk in (CHUNK_ROWS, 5 * CHUNK_ROWS)
    )
    assert rows * 0.8 < len(small.sample) <= rows
    assert small.rows == COPIES * 679 + 2  # every well-formed record is profiled
    pd.testing.assert_frame_equal(small.sample, large.sample, check_exact=True)
    assert list(small.sample.columns) == dataset_schema.columns
    other = profile_batch(batch, dataset_schema, CHUNK_ROWS, max_rows=rows, seed=4)
    assert not other.sample.equals(small.sample)  # a seed draws its own sample
    everything = profile_batch(batch, dataset_schema, CHUNK_ROWS, max_rows=10**6)
    assert len(everything.sample) == everything.rows


@pytest.mark.slow
def test_pieces_on_a_cluster_add_up_to_the_whole(
    batch, whole, reference, dataset_schema, monkeypatch
):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    with dask_client(DaskParams(workers=2, memory_limit="1GB")) as client:
        merged = profile_batch(batch, dataset_schema, CHUNK_ROWS, client)
        sampled = profile_batch(
            batch, dataset_schema, CHUNK_ROWS, client, max_rows=200, seed=3
        )
    _assert_same(merged, whole, reference, dataset_schema)
    in_process = profile_batch(batch, dataset_schema, CHUNK_ROWS, max_rows=200, seed=3)
    pd.testing.assert_frame_equal(sampled.sample, in_process.sample, check_exact=True)
