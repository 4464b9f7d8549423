"""The batch_scoring pipeline: its contract, and a run on an in-memory catalog (the
partitioned outputs in tmp_path: the scoring node saves them piece by piece)."""

from __future__ import annotations

import gc
import itertools

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from more_itertools import interleave

from student_performance.batch import RawBatchDataset
from student_performance.batch.settings import EngineParams, ReadingParams
from student_performance.pipelines.batch_scoring import create_pipeline
from student_performance.scoring import RunPartitionedDataset
from tests.scoring.conftest import write_messy_copies

OUTPUTS = {
    "pred_scored_records",
    "pred_rejected_records",
    "rpt_scoring_report",
    "rpt_scoring_metrics",
}


def test_contract():
    pipeline = create_pipeline()
    assert pipeline.inputs() == {
        "raw_scoring_batch",
        "model_for_scoring",
        "params:batch_scoring.reading",
        "params:batch_scoring.engine",
    }
    assert pipeline.outputs() == OUTPUTS - {"rpt_scoring_report"}
    assert pipeline.all_outputs() == OUTPUTS | {"batch_scoring.int_scoring_tally"}


def _parts(path) -> RunPartitionedDataset:
    return RunPartitionedDataset(
        path=str(path), dataset="pandas.ParquetDataset", filename_suffix=".parquet"
    )


def test_run_on_an_in_memory_catalog(tmp_path, messy_file, scoring_model):
    source = write_messy_copies(messy_file, tmp_path / "in.csv", 2)
    stale = tmp_path / "scored/part-99999.parquet"  # from an earlier, larger run
    stale.parent.mkdir()
    stale.write_bytes(b"")
    catalog = DataCatalog(
        {
            "raw_scoring_batch": RawBatchDataset(path=str(source)),
            "model_for_scoring": MemoryDataset(scoring_model, copy_mode="assign"),
            "params:batch_scoring.reading": MemoryDataset(
                ReadingParams(chunk_rows=400)
            ),
            "params:batch_scoring.engine": MemoryDataset(EngineParams()),
            "pred_scored_records": _parts(tmp_path / "scored"),
            "pred_rejected_records": _parts(tmp_path / "rejected"),
        }
    )

    outputs = SequentialRunner().run(create_pipeline(), catalog)

    metrics = outputs["rpt_scoring_metrics"].load()
    scored = pd.read_parquet(tmp_path / "scored")
    rejected = pd.read_parquet(tmp_path / "rejected")
    assert sorted(p.name for p in (tmp_path / "scored").iterdir()) == [
        f"part-{i:05d}.parquet" for i in range(4)
    ]
    assert metrics["rows_in"]["value"] == len(scored) + len(rejected) == 2 * 679 + 2
    assert metrics["scored"] == {"value": float(len(scored)), "step": 0}
    assert metrics["rejected_malformed_record"]["value"] == 2.0


@pytest.mark.slow  # a memory regression test: scans every live object per step
def test_kedro_keeps_no_scored_piece_alive(tmp_path, messy_file, scoring_model):
    """Kedro 1.7 runs a multi-output generator node through itertools.tee, which keeps
    every yielded tuple referenced; the node empties each piece's partitions once
    saved, so the number of live frames does not grow with the pieces."""
    source = write_messy_copies(messy_file, tmp_path / "in.csv", 8)
    node = create_pipeline().nodes[0]
    outputs = node.run(
        {
            "raw_scoring_batch": RawBatchDataset(path=str(source)).load(),
            "model_for_scoring": scoring_model,
            "params:batch_scoring.reading": ReadingParams(chunk_rows=200),
            "params:batch_scoring.engine": EngineParams(),
        }
    )
    live = []
    for done, _ in enumerate(
        zip(itertools.cycle(outputs), interleave(*outputs.values()))
    ):
        if done % 30 == 0:
            gc.collect()
            live.append(sum(type(o) is pd.DataFrame for o in gc.get_objects()))
    assert done > 60
    assert max(live) - min(live) <= 4, live
