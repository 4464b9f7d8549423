"""RawCSVDataset and RawCSVSourceDataset: raw text in, every record accounted for,
errors that name the file and say what to do."""

from __future__ import annotations

import logging

import pytest

from student_performance.datasets import (
    MalformedRecord,
    RawCSVDataset,
    RawCSVSourceDataset,
    RawDataError,
    RawSource,
)


def test_raw_dataset_reads_text_indexed_by_line(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text('a,b\n 01 ,NA\n\n3,"x,\ny"\n5,6\n', encoding="utf-8")
    frame = RawCSVDataset(filepath=str(path)).load()
    assert frame.loc[2, "a"] == " 01 "  # nothing parsed or stripped yet
    assert frame.loc[2, "b"] == "NA"  # not turned into NaN
    assert frame.loc[4, "b"] == "x,\ny"  # quoted comma and line break kept
    assert list(frame.index) == [2, 4, 6]  # physical lines: blank line 3 skipped
    assert frame.attrs == {}  # provenance is RawCSVSourceDataset's, not attrs
    source = RawCSVSourceDataset(filepath=str(path)).load()
    assert source == RawSource(str(path), "utf-8", 3, ())


def test_raw_dataset_sets_malformed_records_aside_with_line_and_text(tmp_path, caplog):
    path = tmp_path / "damaged.csv"
    path.write_text(
        'a,b,c\n1,2,3\n4,5,6,7,8\n9,10\n11,"12,13\n14,15,16\n17,18,19\n',
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING):
        frame = RawCSVDataset(filepath=str(path)).load()
    source = RawCSVSourceDataset(filepath=str(path)).load()
    assert list(frame.index) == [2, 6, 7]  # reading resumes after the open quote
    assert frame.loc[6].tolist() == ["14", "15", "16"]
    assert source.records == 6 == len(frame) + len(source.malformed)
    assert source.malformed == (
        MalformedRecord(3, "4,5,6,7,8", "5 fields where the header has 3"),
        MalformedRecord(4, "9,10", "2 fields where the header has 3"),
        MalformedRecord(5, '11,"12,13', "unterminated quote"),
    )
    assert "3 of 6 records malformed" in caplog.text


def test_raw_dataset_empty_file_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(RawDataError, match=r"empty.csv: the file is empty"):
        RawCSVDataset(filepath=str(path)).load()


def test_raw_dataset_rejects_latin1_without_fallback(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("name,city\nJosé,Besançon\n".encode("latin-1"))
    with pytest.raises(
        RawDataError, match=r"latin.csv: not valid utf-8 \(byte 0xe9 on line 2\)"
    ):
        RawCSVDataset(filepath=str(path)).load()


def test_raw_dataset_names_the_line_of_the_first_bad_byte(tmp_path):
    path = tmp_path / "late.csv"
    body = "name,city\n" + "Ann,Paris\n" * 300 + "José,Besançon\n"
    path.write_bytes(body.encode("latin-1"))
    with pytest.raises(RawDataError, match=r"byte 0xe9 on line 302\)"):
        RawCSVDataset(filepath=str(path)).load()


def test_raw_dataset_reads_latin1_with_fallback_and_warns(tmp_path, caplog):
    path = tmp_path / "latin.csv"
    path.write_bytes("name,city\nJosé,Besançon\n".encode("latin-1"))
    with caplog.at_level(logging.WARNING):
        frame = RawCSVDataset(filepath=str(path), fallback_encoding="latin-1").load()
        source = RawCSVSourceDataset(
            filepath=str(path), fallback_encoding="latin-1"
        ).load()
    assert frame.loc[2, "city"] == "Besançon"
    assert source.encoding == "latin-1"
    assert "not valid utf-8" in caplog.text


def test_raw_dataset_missing_file_says_what_to_do(tmp_path):
    path = tmp_path / "batch.csv"
    with pytest.raises(RawDataError, match=r"batch.csv: file not found$"):
        RawCSVDataset(filepath=str(path)).load()
    hinted = RawCSVDataset(filepath=str(path), missing_hint="give --params x=...")
    with pytest.raises(RawDataError, match=r"file not found: give --params x=\.\.\.$"):
        hinted.load()
