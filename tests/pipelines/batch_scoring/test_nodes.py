"""Nodes of batch_scoring: the generator's tally and progress, the report, the metrics."""

from __future__ import annotations

import logging
import re

import pytest

from student_performance.batch.reader import RawBatchDataset
from student_performance.batch.settings import EngineParams, ReadingParams
from student_performance.pipelines.batch_scoring.nodes import (
    build_scoring_report,
    collect_scoring_metrics,
    score_batch,
)

TALLY = {
    "rows_in": 10,
    "scored": 7,
    "rejected": 3,
    "rejected_by_reason": {"malformed_record": 1, "unknown_value": 2},
    "partitions_done": 2,
    "partitions_total": 2,
    "workers": 1,
    "startup_seconds": 0.0,
    "scoring_seconds": 2.0,
    "model_name": "m",
    "model_version": "1",
    "engine": "pandas",
}


def test_report_adds_the_throughput():
    report = build_scoring_report(TALLY)
    assert report["rows_per_second"] == 5.0
    assert report["rows_in"] == report["scored"] + report["rejected"]


@pytest.mark.parametrize(
    "broken",
    [
        {"scored": 8},
        {"rejected_by_reason": {"unknown_value": 2}},
        {"partitions_done": 1},
    ],
)
def test_report_refuses_counts_that_do_not_add_up(broken):
    with pytest.raises(ValueError, match="do not add up|partitions"):
        build_scoring_report(TALLY | broken)


def test_metrics_one_per_figure_and_reason():
    metrics = collect_scoring_metrics(build_scoring_report(TALLY))
    assert metrics["rejected_unknown_value"] == {"value": 2.0, "step": 0}
    assert metrics["rows_per_second"]["value"] == 5.0
    assert set(metrics) >= {"rows_in", "scored", "rejected", "workers"}


def test_progress_is_logged_at_least_every_tenth(
    tmp_path, messy_file, scoring_model, caplog
):
    path = tmp_path / "in.csv"
    path.write_text(messy_file.read_text())
    batch = RawBatchDataset(path=str(path)).load()

    with caplog.at_level(logging.INFO):
        tallies = [
            t
            for _, _, t in score_batch(
                batch, scoring_model, ReadingParams(chunk_rows=68), EngineParams()
            )
        ]

    logged = [r.getMessage() for r in caplog.records]
    logged = [m for m in logged if m.startswith("Scoring:")]
    done = [0] + [int(re.search(r"(\d+) records", m).group(1)) for m in logged]
    assert len(tallies) == 11  # a step per piece, then the final tally
    assert tallies[-1]["rows_in"] == 679
    assert tallies[-1]["scoring_seconds"] >= tallies[-2]["scoring_seconds"]
    assert 10 <= len(logged) <= 11
    assert done[-1] == 679
    assert max(b - a for a, b in zip(done, done[1:])) <= 0.1 * 679 + 68
    assert "10/10 partitions, 679 records (100 %)" in logged[-1]


def test_an_input_with_no_records_still_yields_once(tmp_path, scoring_model):
    path = tmp_path / "in.csv"
    path.write_text(",".join(scoring_model.dataset.feature_names) + "\n")
    batch = RawBatchDataset(path=str(path)).load()

    (result,) = list(score_batch(batch, scoring_model, ReadingParams(), EngineParams()))

    assert result[:2] == ({}, {})
    assert result[2]["rows_in"] == 0 and result[2]["partitions_total"] == 0
