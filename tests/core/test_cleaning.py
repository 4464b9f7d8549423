"""core.cleaning: text normalisation and schema-driven typing."""

from __future__ import annotations

import pandas as pd
import pytest

from student_performance.core.cleaning import (
    check_columns,
    clean_text,
    invalid_values,
    normalise_frame,
)
from student_performance.datasets import RawDataError


def _values(series: pd.Series) -> list:
    """Values as a plain list, NA as None."""
    return [None if pd.isna(v) else v for v in series.tolist()]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" eXCELLENT ", "eXCELLENT"),
        ("  school   teacher ", "school teacher"),
        (" NAN ", pd.NA),
        ("", pd.NA),
        ("?", pd.NA),
        ("Null", pd.NA),
    ],
)
def test_clean_text(raw, expected, tiny_schema):
    result = clean_text(pd.Series([raw], dtype="string"), tiny_schema.missing_tokens)
    assert _values(result) == [None if expected is pd.NA else expected]


def test_normalise_frame_types_every_column_by_its_kind(tiny_raw, tiny_schema):
    before = tiny_raw.copy()

    typed = normalise_frame(tiny_raw.drop(columns="junk"), tiny_schema)

    pd.testing.assert_frame_equal(tiny_raw, before)
    assert _values(typed["grade"]) == ["low", "mid", None, "high", "mid", None]
    assert typed["grade"].cat.ordered
    assert _values(typed["sport"]) == ["yes", "no", "yes", None, "no", "yes"]
    assert _values(typed["level"]) == ["A1", "B1", None, "A2", "B1", "A1"]
    assert _values(typed["hours"]) == [3.0, 4.5, None, None, 4.5, None]


def test_invalid_values_counts_the_text_that_did_not_type(tiny_raw, tiny_schema):
    typed = normalise_frame(tiny_raw[["sport"]], tiny_schema)
    text = clean_text(tiny_raw["sport"], tiny_schema.missing_tokens)

    assert invalid_values(text, typed["sport"]).to_dict() == {"maybe": 1}


def test_check_columns_names_the_missing_ones(tiny_raw, tiny_schema):
    with pytest.raises(RawDataError, match=r"level"):
        check_columns(tiny_raw.drop(columns="level"), tiny_schema.columns, tiny_schema)
