"""Unit tests of the data_processing nodes on tiny inline frames."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from student_performance.datasets import RawCSVDataset, RawDataError
from student_performance.pipelines.data_processing.nodes import (
    build_quality_report,
    check_raw_structure,
    normalise_values,
    quarantine_rows,
)

QUALITY = {"max_missing_share": 0.5, "max_invalid_share": 0.5}


def _values(series: pd.Series) -> list:
    """Values as a plain list, NA as None."""
    return [None if pd.isna(v) else v for v in series.tolist()]


def _typed(raw: pd.DataFrame, schema) -> pd.DataFrame:
    return normalise_values(check_raw_structure(raw, schema), schema, QUALITY)


# --- check_raw_structure ----------------------------------------------------------


def test_check_raw_structure_keeps_schema_columns_indexed_by_line(
    tiny_raw, tiny_schema
):
    checked = check_raw_structure(tiny_raw, tiny_schema)
    assert list(checked.columns) == ["grade", "sport", "level", "hours"]
    assert list(checked.index) == [2, 3, 4, 5, 6, 7]  # header is line 1
    assert checked.index.name == "source_line"
    assert checked.loc[2, "grade"] == " LOW "  # text untouched


def test_check_raw_structure_missing_columns_lists_missing_and_found(
    tiny_raw, tiny_schema
):
    raw = tiny_raw.drop(columns=["level", "hours"])
    raw.attrs["source_file"] = "data/01_raw/x.csv"
    with pytest.raises(RawDataError) as err:
        check_raw_structure(raw, tiny_schema)
    message = str(err.value)
    assert "data/01_raw/x.csv" in message
    assert "['level', 'hours']" in message
    assert "columns found: ['grade', 'sport', 'junk']" in message


def test_check_raw_structure_single_column_means_wrong_delimiter(tmp_path, tiny_schema):
    path = tmp_path / "semicolon.csv"
    path.write_text("grade;sport;level;hours\nlow;yes;A1;3\n")
    raw = RawCSVDataset(filepath=str(path)).load()
    with pytest.raises(
        RawDataError, match=r"semicolon.csv: found a single column .* delimiter"
    ):
        check_raw_structure(raw, tiny_schema)


def test_check_raw_structure_header_only(tiny_raw, tiny_schema):
    with pytest.raises(RawDataError, match="header only, no data rows"):
        check_raw_structure(tiny_raw.iloc[0:0], tiny_schema)


def test_check_raw_structure_drops_unknown_columns_with_a_warning(
    tiny_raw, tiny_schema, caplog
):
    raw = tiny_raw.assign(surprise="1")
    with caplog.at_level(logging.WARNING):
        checked = check_raw_structure(raw, tiny_schema)
    assert "surprise" not in checked.columns
    assert "unknown columns dropped: ['surprise']" in caplog.text
    assert "junk" not in caplog.text  # declared in drop_columns: dropped quietly


def test_check_raw_structure_unknown_columns_error_policy(tiny_raw, tiny_schema):
    strict = tiny_schema.model_copy(update={"unknown_columns": "error"})
    with pytest.raises(RawDataError, match=r"unknown columns \['surprise'\]"):
        check_raw_structure(tiny_raw.assign(surprise="1"), strict)


# --- normalisation and typing ------------------------------------------------------


def test_normalise_values_maps_to_canonical_spellings_and_types(tiny_raw, tiny_schema):
    typed = _typed(tiny_raw, tiny_schema)
    assert _values(typed["grade"]) == ["low", "mid", None, "high", "mid", None]
    assert typed["grade"].cat.ordered
    assert list(typed["grade"].cat.categories) == ["low", "mid", "high"]
    assert _values(typed["sport"]) == ["yes", "no", "yes", None, "no", "yes"]
    assert not typed["sport"].cat.ordered
    assert _values(typed["level"]) == ["A1", "B1", None, "A2", "B1", "A1"]
    assert typed["level"].cat.ordered
    assert str(typed["hours"].dtype) == "Float64"
    assert _values(typed["hours"]) == [3.0, 4.5, None, None, 4.5, None]


def test_normalise_values_does_not_mutate_its_input(tiny_raw, tiny_schema):
    checked = check_raw_structure(tiny_raw, tiny_schema)
    before = checked.copy()
    normalise_values(checked, tiny_schema, QUALITY)
    pd.testing.assert_frame_equal(checked, before)


def test_normalise_values_warns_per_column_over_threshold(
    tiny_raw, tiny_schema, caplog
):
    checked = check_raw_structure(tiny_raw, tiny_schema)
    strict = {"max_missing_share": 0.0, "max_invalid_share": 0.0}
    with caplog.at_level(logging.WARNING):
        normalise_values(checked, tiny_schema, strict)
    assert "Column 'sport': 1 values not allowed" in caplog.text
    assert "Column 'hours': 2 values not allowed" in caplog.text
    assert "Column 'level': 1 of 6 values missing" in caplog.text


# --- quarantine and report ---------------------------------------------------------


def test_quarantine_rows_reasons_and_original_values(tiny_raw, tiny_schema):
    raw = pd.concat(
        [tiny_raw, tiny_raw.iloc[[1]]], ignore_index=True
    )  # line 8 = line 3
    typed = _typed(raw, tiny_schema)
    kept, quarantine = quarantine_rows(typed, raw, tiny_schema)
    assert quarantine["reason"].to_dict() == {
        4: "target_missing",
        6: "duplicate",  # line 3 after normalisation (" 4.5 " is 4.5)
        7: "target_invalid",
        8: "duplicate",
    }
    assert quarantine.loc[7, "grade"] == "bad"  # the original raw value
    assert quarantine.loc[8, "junk"] == "bad"  # every raw column, dropped ones too
    assert list(kept.index) == [2, 3, 5]
    assert len(kept) + len(quarantine) == len(raw)


def test_quarantine_rows_keep_all_policy_keeps_duplicates(tiny_raw, tiny_schema):
    raw = pd.concat([tiny_raw, tiny_raw.iloc[[1]]], ignore_index=True)
    keep_all = tiny_schema.model_copy(update={"duplicates": "keep_all"})
    kept, quarantine = quarantine_rows(_typed(raw, keep_all), raw, keep_all)
    assert "duplicate" not in set(quarantine["reason"])
    assert 8 in kept.index


def test_build_quality_report_accounts_for_rows_and_values(tiny_raw, tiny_schema):
    typed = _typed(tiny_raw, tiny_schema)
    kept, quarantine = quarantine_rows(typed, tiny_raw, tiny_schema)
    report, metrics = build_quality_report(
        tiny_raw, typed, kept, quarantine, tiny_schema
    )
    assert (report["rows_in"], report["rows_kept"], report["rows_quarantined"]) == (
        6,
        3,
        3,
    )
    assert report["quarantined_by_reason"] == {
        "target_missing": 1,
        "target_invalid": 1,
        "duplicate": 1,
    }
    assert report["columns_dropped"] == ["junk"]
    assert report["columns"]["sport"]["invalid_values"] == {"maybe": 1}
    assert report["columns"]["hours"]["invalid_values"] == {"x": 1, "30": 1}
    assert report["columns"]["hours"]["numeric_coercion_failures"] == 1
    assert report["columns"]["level"]["missing_before"] == {"count": 1, "share": 0.1667}
    assert metrics["rows_in"] == {"value": 6.0, "step": 0}
    assert metrics["quarantined_target_invalid"] == {"value": 1.0, "step": 0}


def test_build_quality_report_refuses_broken_accounting(tiny_raw, tiny_schema):
    typed = _typed(tiny_raw, tiny_schema)
    kept, quarantine = quarantine_rows(typed, tiny_raw, tiny_schema)
    with pytest.raises(ValueError, match="row accounting broken: 6 in, 2 kept"):
        build_quality_report(tiny_raw, typed, kept.iloc[1:], quarantine, tiny_schema)
