"""The outputs a generator node saves several times in one run: the first save of a
run replaces the folder, the next ones add files named after their pieces."""

from __future__ import annotations

import pandas as pd
import pytest
from distributed import Client, LocalCluster

from student_performance.scoring import RunDaskPartitionsDataset, RunPartitionedDataset


def _frame(values: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"x": values})


@pytest.fixture
def client():
    """A client on a cluster of one in-process worker, the default one."""
    with (
        LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster, set_as_default=True) as client,
    ):
        yield client


def test_dask_partitions_first_save_replaces_later_saves_add(tmp_path, client):
    folder = tmp_path / "scored"
    folder.mkdir()
    (folder / "part-00099.parquet").write_text("left by an earlier, larger run")
    dataset = RunDaskPartitionsDataset(filepath=str(folder))
    frames = client.scatter(
        {"part-00000": _frame([1, 2]), "part-00001": _frame([3, 4, 99])}
    )
    first_two = frames["part-00001"], lambda frame: frame.head(2)

    dataset.save({"part-00000": frames["part-00000"]})
    dataset.save({"part-00002": client.scatter(_frame([5])), "part-00001": first_two})

    assert sorted(p.name for p in folder.iterdir()) == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    assert pd.read_parquet(folder / "part-00001.parquet").equals(_frame([3, 4]))
    assert sorted(dataset.load().compute()["x"]) == [1, 2, 3, 4, 5]


def test_a_new_run_replaces_the_folder_again(tmp_path, client):
    folder = tmp_path / "scored"
    for values, name in (([1, 2, 3], "part-00001"), ([9], "part-00000")):
        dataset = RunDaskPartitionsDataset(filepath=str(folder))  # a run's catalog
        dataset.save({name: client.scatter(_frame(values))})

    assert [p.name for p in folder.iterdir()] == ["part-00000.parquet"]


def test_pandas_partitions_first_save_replaces_later_saves_add(tmp_path):
    folder = tmp_path / "scored"
    old = RunPartitionedDataset(
        path=str(folder), dataset="pandas.ParquetDataset", filename_suffix=".parquet"
    )
    old.save({"part-00005": _frame([0])})
    dataset = RunPartitionedDataset(
        path=str(folder), dataset="pandas.ParquetDataset", filename_suffix=".parquet"
    )

    dataset.save({"part-00000": _frame([1])})
    dataset.save({"part-00001": _frame([2])})

    assert sorted(p.name for p in folder.iterdir()) == [
        "part-00000.parquet",
        "part-00001.parquet",
    ]
