"""Once per distinct value: equal to computing on every row, with NA kept apart."""

from __future__ import annotations

import pandas as pd

from student_performance.core.distinct import (
    per_distinct_row,
    per_distinct_value,
    row_keys,
)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"a": ["x", "y", "x", None, "x"], "b": [1, 2, 1, 1, None]},
        index=[10, 11, 12, 13, 14],
    ).astype({"a": "string", "b": "Int64"})


def test_equal_rows_share_a_key_and_na_is_a_value_of_its_own():
    keys = row_keys(_frame())
    assert keys[0] == keys[2]
    assert len(set(keys.tolist())) == 4


def test_per_distinct_row_equals_computing_every_row_and_runs_once_per_row():
    frame = _frame()
    seen = []

    def compute(rows: pd.DataFrame) -> pd.DataFrame:
        seen.append(len(rows))
        return pd.DataFrame(
            {
                "out": rows["a"].fillna("?")
                + "-"
                + rows["b"].astype("string").fillna("?")
            },
            index=rows.index,
        )

    result = per_distinct_row(frame, compute)
    expected = compute(frame)
    pd.testing.assert_frame_equal(result, expected)
    assert seen[0] == 4


def test_per_distinct_value_passes_missing_once_and_keeps_the_index():
    values = pd.Series(
        ["a", None, "a", "b", None], index=[5, 6, 7, 8, 9], name="v", dtype="string"
    )
    calls = []

    def compute(distinct: pd.Series) -> pd.Series:
        calls.append(distinct.tolist())
        return distinct.str.upper().fillna("MISSING")

    result = per_distinct_value(values, compute)
    assert calls == [["a", "b", pd.NA]]
    expected = pd.Series(
        ["A", "MISSING", "A", "B", "MISSING"],
        index=values.index,
        name="v",
        dtype="string",
    )
    pd.testing.assert_series_equal(result, expected)
