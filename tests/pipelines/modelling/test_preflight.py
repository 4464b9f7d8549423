"""The training pre-flight on tiny invented primary tables."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from student_performance.core.params import CVParams, SplitParams
from student_performance.pipelines.modelling.params import PreflightParams
from student_performance.pipelines.modelling.preflight import (
    UntrainableDataError,
    check_trainable,
)

SPLIT = SplitParams(holdout_share=0.2, seed=0)
CV = CVParams(n_splits=3, n_repeats=1, seed=0, n_jobs=1)
PREFLIGHT = PreflightParams(min_rows=5)


def _primary(tiny_schema, grades: dict[str, int]) -> pd.DataFrame:
    values = [grade for grade, n in grades.items() for _ in range(n)]
    target = pd.Categorical(values, categories=["low", "mid", "high"], ordered=True)
    return pd.DataFrame({"grade": target, "hours": range(len(values))})


def test_trainable_table_passes_unchanged(tiny_schema, caplog):
    primary = _primary(tiny_schema, {"low": 4, "mid": 4, "high": 0})
    with caplog.at_level(logging.WARNING):
        result = check_trainable(primary, tiny_schema, SPLIT, CV, PREFLIGHT)
    pd.testing.assert_frame_equal(result, primary)
    assert "Target classes without rows, never predicted: ['high']" in caplog.text


@pytest.mark.parametrize(
    ("grades", "preflight"),
    [
        ({"low": 30}, PREFLIGHT),  # one class
        ({"low": 2, "mid": 2}, PREFLIGHT),  # five rows are too few: 4
        ({"low": 20, "mid": 3, "high": 20}, PREFLIGHT),  # mid: 2 development rows < 3
        ({"low": 20, "mid": 20}, PreflightParams(min_rows=50)),  # conf minimum
        ({"low": 8, "mid": 8}, PreflightParams(min_rows=5, min_class_rows=8)),
    ],
)
def test_untrainable_tables_stop_with_one_message(tiny_schema, grades, preflight):
    primary = _primary(tiny_schema, grades)
    with pytest.raises(UntrainableDataError) as err:
        check_trainable(primary, tiny_schema, SPLIT, CV, preflight)
    counts = {"low": 0, "mid": 0, "high": 0} | grades
    assert str(err.value).startswith(
        f"cannot train on {len(primary)} rows with target 'grade' classes {counts}: "
        f"training needs at least {preflight.min_rows} rows, 2 classes"
    )


def test_message_says_what_each_class_needs(tiny_schema):
    primary = _primary(tiny_schema, {"low": 20, "mid": 3})
    with pytest.raises(UntrainableDataError, match=r"4 rows in every class present "):
        check_trainable(primary, tiny_schema, SPLIT, CV, PREFLIGHT)
    typed_cv = PreflightParams(min_rows=5, min_class_rows=5)
    with pytest.raises(UntrainableDataError, match=r"7 rows in every class present "):
        check_trainable(primary, tiny_schema, SPLIT, CV, typed_cv)


def test_an_empty_table_points_to_the_quarantine(tiny_schema):
    with pytest.raises(UntrainableDataError, match=r"data_processing kept no row"):
        check_trainable(_primary(tiny_schema, {}), tiny_schema, SPLIT, CV, PREFLIGHT)
