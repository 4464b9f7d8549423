"""Unit tests of the data_processing nodes on tiny inline frames and invented files."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from student_performance.datasets import (
    MalformedRecord,
    RawCSVDataset,
    RawCSVSourceDataset,
    RawDataError,
    RawSource,
)
from student_performance.pipelines.data_processing.nodes import (
    build_quality_report,
    check_raw_structure,
    check_usable_rows,
    normalise_values,
    quarantine_rows,
)
from student_performance.pipelines.data_processing.params import QualityParams

QUALITY = QualityParams(
    max_missing_share=0.5, max_invalid_share=0.5, max_malformed_share=0.5
)
FILE = "data/01_raw/x.csv"


def _values(series: pd.Series) -> list:
    """Values as a plain list, NA as None."""
    return [None if pd.isna(v) else v for v in series.tolist()]


def _read(frame: pd.DataFrame, *malformed: MalformedRecord) -> tuple:
    """Rows as the raw dataset gives them (indexed by line) and their source."""
    rows = frame.set_axis(pd.RangeIndex(2, len(frame) + 2, name="source_line"))
    return rows, RawSource(FILE, "utf-8", len(frame) + len(malformed), malformed)


def _typed(raw: pd.DataFrame, schema) -> pd.DataFrame:
    rows, source = _read(raw)
    return normalise_values(
        check_raw_structure(rows, source, schema, QUALITY), schema, QUALITY
    )


def _quarantine(raw: pd.DataFrame, schema, *malformed: MalformedRecord):
    rows, source = _read(raw, *malformed)
    checked = check_raw_structure(rows, source, schema, QUALITY)
    typed = normalise_values(checked, schema, QUALITY)
    return rows, source, typed, quarantine_rows(checked, typed, rows, source, schema)


# --- check_raw_structure ----------------------------------------------------------


def test_check_raw_structure_keeps_schema_columns_indexed_by_line(
    tiny_raw, tiny_schema
):
    checked = check_raw_structure(*_read(tiny_raw), tiny_schema, QUALITY)
    assert list(checked.columns) == ["grade", "sport", "level", "hours"]
    assert list(checked.index) == [2, 3, 4, 5, 6, 7]  # header is line 1
    assert checked.index.name == "source_line"
    assert checked.loc[2, "grade"] == " LOW "  # text untouched


def test_check_raw_structure_missing_columns_lists_missing_and_found(
    tiny_raw, tiny_schema
):
    raw = tiny_raw.drop(columns=["level", "hours"])
    with pytest.raises(RawDataError) as err:
        check_raw_structure(*_read(raw), tiny_schema, QUALITY)
    message = str(err.value)
    assert FILE in message
    assert "['level', 'hours']" in message
    assert "columns found: ['grade', 'sport', 'junk']" in message


def test_check_raw_structure_single_column_means_wrong_delimiter(tmp_path, tiny_schema):
    path = tmp_path / "semicolon.csv"
    path.write_text("grade;sport;level;hours\nlow;yes;A1;3\n")
    raw = RawCSVDataset(filepath=str(path)).load()
    source = RawCSVSourceDataset(filepath=str(path)).load()
    with pytest.raises(
        RawDataError, match=r"semicolon.csv: found a single column .* delimiter"
    ):
        check_raw_structure(raw, source, tiny_schema, QUALITY)


def test_check_raw_structure_header_only(tiny_raw, tiny_schema):
    with pytest.raises(RawDataError, match="header only, no data rows"):
        check_raw_structure(*_read(tiny_raw.iloc[0:0]), tiny_schema, QUALITY)


def test_check_raw_structure_drops_unknown_columns_with_a_warning(
    tiny_raw, tiny_schema, caplog
):
    raw = tiny_raw.assign(surprise="1")
    with caplog.at_level(logging.WARNING):
        checked = check_raw_structure(*_read(raw), tiny_schema, QUALITY)
    assert "surprise" not in checked.columns
    assert "unknown columns dropped: ['surprise']" in caplog.text
    assert "junk" not in caplog.text  # declared in drop_columns: dropped quietly


def test_check_raw_structure_unknown_columns_error_policy(tiny_raw, tiny_schema):
    strict = tiny_schema.model_copy(update={"unknown_columns": "error"})
    with pytest.raises(RawDataError, match=r"unknown columns \['surprise'\]"):
        check_raw_structure(*_read(tiny_raw.assign(surprise="1")), strict, QUALITY)


def _malformed(n: int) -> list[MalformedRecord]:
    return [
        MalformedRecord(10 + i, f"a,b,c,d,e,f{i}", "6 fields where the header has 5")
        for i in range(n)
    ]


def test_check_raw_structure_accepts_malformed_records_up_to_the_share(
    tiny_raw, tiny_schema
):
    rows, source = _read(tiny_raw, *_malformed(1))  # 1 of 7 records: 14 %
    lenient = QUALITY.model_copy(update={"max_malformed_share": 0.15})
    assert len(check_raw_structure(rows, source, tiny_schema, lenient)) == 6


def test_check_raw_structure_too_many_malformed_records_names_file_count_lines(
    tiny_raw, tiny_schema
):
    rows, source = _read(tiny_raw, *_malformed(4))  # 4 of 10 records
    with pytest.raises(RawDataError) as err:
        check_raw_structure(
            rows,
            source,
            tiny_schema,
            QUALITY.model_copy(update={"max_malformed_share": 0.1}),
        )
    message = str(err.value)
    assert message.startswith(f"{FILE}: 4 of 10 records are malformed (40%, more than")
    assert "line 10 (6 fields where the header has 5): 'a,b,c,d,e,f0'" in message
    assert "line 12 " in message and "line 13 " not in message  # the first three


@pytest.mark.parametrize(
    "header",
    [
        [" GRADE ", "Sport", "level", "HOURS", "junk"],
        ["grade", "sport", "Level  ", "hours", " JUNK"],
    ],
)
def test_check_raw_structure_matches_headers_up_to_case_and_spaces(
    tiny_raw, tiny_schema, header, caplog
):
    raw = tiny_raw.set_axis(header, axis=1)
    with caplog.at_level(logging.WARNING):
        checked = check_raw_structure(*_read(raw), tiny_schema, QUALITY)
    assert list(checked.columns) == ["grade", "sport", "level", "hours"]
    renamed = [h for h in header if h not in tiny_schema.columns + ["junk"]]
    for name in renamed:
        assert f"column {name!r} read as the schema's" in caplog.text


def test_check_raw_structure_schema_name_with_inner_space_matches_itself(tiny_schema):
    schema = tiny_schema.model_copy(
        update={
            "features": (
                *tiny_schema.features[:2],
                tiny_schema.features[2].model_copy(update={"name": "Class_ X_Hours"}),
            )
        }
    )
    raw = pd.DataFrame(
        {"grade": ["low"], "sport": ["yes"], "level": ["A1"], "Class_ X_Hours": ["3"]},
        dtype="string",
    )
    loose = raw.rename(columns={"Class_ X_Hours": "class_   x_hours "})
    for frame in (raw, loose):
        checked = check_raw_structure(*_read(frame), schema, QUALITY)
        assert list(checked.columns) == ["grade", "sport", "level", "Class_ X_Hours"]


def test_check_raw_structure_two_columns_matching_one_is_an_error(
    tiny_raw, tiny_schema
):
    raw = tiny_raw.assign(**{" Sport": "no"})
    with pytest.raises(
        RawDataError,
        match=r"x.csv: two raw columns match one schema column \(\['sport', ' Sport'\] all match 'sport'",
    ):
        check_raw_structure(*_read(raw), tiny_schema, QUALITY)


def test_check_raw_structure_header_tolerance_can_be_turned_off(tiny_raw, tiny_schema):
    raw = tiny_raw.rename(columns={"sport": "SPORT"})
    exact = QUALITY.model_copy(update={"tolerant_headers": False})
    with pytest.raises(RawDataError, match=r"required columns missing: \['sport'\]"):
        check_raw_structure(*_read(raw), tiny_schema, exact)


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
    checked = check_raw_structure(*_read(tiny_raw), tiny_schema, QUALITY)
    before = checked.copy()
    normalise_values(checked, tiny_schema, QUALITY)
    pd.testing.assert_frame_equal(checked, before)


def test_normalise_values_warns_per_column_over_threshold(
    tiny_raw, tiny_schema, caplog
):
    checked = check_raw_structure(*_read(tiny_raw), tiny_schema, QUALITY)
    strict = QualityParams(max_missing_share=0.0, max_invalid_share=0.0)
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
    _, _, _, (kept, quarantine) = _quarantine(raw, tiny_schema)
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
    _, _, _, (kept, quarantine) = _quarantine(raw, keep_all)
    assert "duplicate" not in set(quarantine["reason"])
    assert 8 in kept.index


def test_build_quality_report_accounts_for_rows_and_values(tiny_raw, tiny_schema):
    rows, source, typed, (kept, quarantine) = _quarantine(tiny_raw, tiny_schema)
    report, metrics = build_quality_report(
        rows, source, typed, kept, quarantine, tiny_schema, QUALITY
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
    rows, source, typed, (kept, quarantine) = _quarantine(tiny_raw, tiny_schema)
    with pytest.raises(ValueError, match="row accounting broken: 6 in, 2 kept"):
        build_quality_report(
            rows, source, typed, kept.iloc[1:], quarantine, tiny_schema, QUALITY
        )


def test_malformed_records_are_quarantined_and_accounted_for(tiny_raw, tiny_schema):
    bad = MalformedRecord(9, 'mid,"yes,A1,3', "unterminated quote")
    rows, source, typed, (kept, quarantine) = _quarantine(tiny_raw, tiny_schema, bad)
    assert quarantine.loc[9, "reason"] == "malformed_record"
    assert quarantine.loc[9, "detail"] == "unterminated quote"
    assert quarantine.loc[9, "raw_text"] == 'mid,"yes,A1,3'
    assert list(quarantine.index) == [4, 6, 7, 9]  # file order
    assert quarantine.index.name == "source_line"
    report, metrics = build_quality_report(
        rows, source, typed, kept, quarantine, tiny_schema, QUALITY
    )
    assert report["rows_in"] == 7 == report["rows_kept"] + report["rows_quarantined"]
    assert report["quarantined_by_reason"]["malformed_record"] == 1
    assert report["malformed_records"] == [
        {"line": 9, "problem": "unterminated quote", "text": 'mid,"yes,A1,3'}
    ]
    assert report["source_file"] == FILE and report["encoding"] == "utf-8"
    assert metrics["quarantined_malformed_record"] == {"value": 1.0, "step": 0}


def test_build_quality_report_lists_renamed_headers(tiny_raw, tiny_schema):
    raw = tiny_raw.rename(columns={"sport": " SPORT", "junk": "Junk"})
    rows, source, typed, (kept, quarantine) = _quarantine(raw, tiny_schema)
    report, _ = build_quality_report(
        rows, source, typed, kept, quarantine, tiny_schema, QUALITY
    )
    assert report["columns_renamed"] == {" SPORT": "sport", "Junk": "junk"}
    assert report["columns_found"] == ["grade", " SPORT", "level", "hours", "Junk"]
    assert report["columns_dropped"] == ["junk"]


def test_check_usable_rows_passes_when_a_row_is_kept():
    assert check_usable_rows({"rows_kept": 1}) is None


def test_check_usable_rows_names_file_rows_and_reasons():
    report = {
        "source_file": FILE,
        "rows_in": 12,
        "rows_kept": 0,
        "quarantined_by_reason": {"target_missing": 10, "malformed_record": 2},
    }
    with pytest.raises(RawDataError) as err:
        check_usable_rows(report)
    assert str(err.value).startswith(
        f"{FILE}: no usable row: 12 rows in, all quarantined "
        "(target_missing 10, malformed_record 2)"
    )


@pytest.mark.parametrize("tolerant", [True, False])
def test_a_repeated_header_is_an_error(tmp_path, tiny_schema, tolerant):
    path = tmp_path / "repeated.csv"
    path.write_text("grade,sport,level,hours,sport\nlow,yes,A1,3,no\n")
    raw, source = RawCSVDataset(filepath=str(path)).read()
    assert list(raw.columns) == ["grade", "sport", "level", "hours", "sport"]
    quality = QUALITY.model_copy(update={"tolerant_headers": tolerant})
    with pytest.raises(RawDataError, match=r"repeated.csv: .*sport"):
        check_raw_structure(raw, source, tiny_schema, quality)
